//! HTTP/1.x request heads as the VPN front end sees them.
//!
//! The authentication phase of OpenConnect is ordinary HTTPS (§2.1), but the peer is
//! unauthenticated, so this parser is deliberately narrow: the head is capped at
//! [`Limits::max_head`] bytes and [`Limits::max_headers`] lines, only HTTP/1.0 and HTTP/1.1 are
//! accepted, header values must be UTF-8, and bodies are delimited by `Content-Length` only
//! (`Transfer-Encoding` is refused, as ocserv does). Header names keep the case the client sent.
//!
//! Responses go through [`ResponseHead`], which never changes header case or order: openconnect
//! compares `X-CSTP-*` names with `strcmp` (§8.1).

mod response;

pub use self::response::{ResponseHead, simple_response};
pub(crate) use self::response::{strip_controls, write_header};

/// Size limits applied to everything an unauthenticated peer sends over HTTP.
///
/// The defaults are ocserv's (1.5.0+): 16 KiB of head, 64 header lines, 256 KiB of body.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Maximum length of the request line plus headers, including the final CRLFCRLF.
    pub max_head: usize,
    /// Maximum number of header lines.
    pub max_headers: usize,
    /// Maximum `Content-Length` accepted.
    pub max_body: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self {
            max_head: 16 * 1024,
            max_headers: 64,
            max_body: 256 * 1024,
        }
    }
}

/// Why a request head (or its framing headers) was refused.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[non_exhaustive]
pub enum HttpError {
    /// The head did not end within [`Limits::max_head`] bytes.
    #[error("request head exceeds {limit} bytes")]
    HeadTooLarge {
        /// The limit in force.
        limit: usize,
    },
    /// More than [`Limits::max_headers`] header lines.
    #[error("more than {limit} header lines")]
    TooManyHeaders {
        /// The limit in force.
        limit: usize,
    },
    /// The request line or a header line is not valid HTTP/1.x.
    #[error("malformed request head: {0}")]
    Syntax(&'static str),
    /// The request is HTTP, but neither 1.0 nor 1.1.
    #[error("unsupported HTTP version")]
    UnsupportedVersion,
    /// A header value is not valid UTF-8.
    #[error("header {name:?} has a non-UTF-8 value")]
    NonUtf8Header {
        /// The header's name as sent.
        name: String,
    },
    /// `Content-Length` is not a plain decimal number.
    #[error("invalid Content-Length")]
    InvalidContentLength,
    /// Several `Content-Length` headers with different values (request smuggling shape).
    #[error("conflicting Content-Length headers")]
    ConflictingContentLength,
    /// The announced body is larger than [`Limits::max_body`].
    #[error("body of {length} bytes exceeds {limit}")]
    BodyTooLarge {
        /// The announced length (saturated at `u64::MAX`).
        length: u64,
        /// The limit in force.
        limit: usize,
    },
    /// `Transfer-Encoding` was sent; only `Content-Length` bodies are supported.
    #[error("Transfer-Encoding is not supported")]
    TransferEncoding,
}

/// The request method.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Method {
    /// `GET`.
    Get,
    /// `POST`.
    Post,
    /// `HEAD`.
    Head,
    /// `CONNECT`, used for `/CSCOSSLC/tunnel`.
    Connect,
    /// Any other token, verbatim (methods are case-sensitive).
    Other(String),
}

impl Method {
    fn from_token(token: &str) -> Self {
        match token {
            "GET" => Self::Get,
            "POST" => Self::Post,
            "HEAD" => Self::Head,
            "CONNECT" => Self::Connect,
            other => Self::Other(other.to_owned()),
        }
    }

    /// The method as it appears on the request line.
    pub fn as_str(&self) -> &str {
        match self {
            Self::Get => "GET",
            Self::Post => "POST",
            Self::Head => "HEAD",
            Self::Connect => "CONNECT",
            Self::Other(s) => s,
        }
    }
}

/// The HTTP version of a request.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HttpVersion {
    /// HTTP/1.0: answered once, then the connection is closed (§2.1).
    Http10,
    /// HTTP/1.1: keep-alive by default.
    Http11,
}

/// A parsed request line and header block.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestHead {
    /// The method.
    pub method: Method,
    /// The request target exactly as sent (path plus optional `?query`).
    pub path: String,
    /// The protocol version.
    pub version: HttpVersion,
    /// Header lines in order, names in their original case, values trimmed.
    pub headers: Vec<(String, String)>,
}

/// Parses a request head from the start of `buf`.
///
/// Returns `Ok(None)` while the head is incomplete and `buf` is still within
/// [`Limits::max_head`]; `Ok(Some((head, consumed)))` once it is complete, where `consumed` is the
/// head's length including the terminating CRLFCRLF (any body or pipelined bytes follow it).
///
/// # Errors
///
/// See [`HttpError`]: oversized heads, too many headers, bad syntax, versions other than 1.0 and
/// 1.1, and non-UTF-8 header values.
pub fn parse_request_head(
    buf: &[u8],
    limits: &Limits,
) -> Result<Option<(RequestHead, usize)>, HttpError> {
    // Only look at max_head bytes: a complete head must fit in them, and httparse then never
    // scans more than the limit however much the peer has sent.
    let window = buf.get(..limits.max_head).unwrap_or(buf);
    let mut slots = vec![httparse::EMPTY_HEADER; limits.max_headers];
    let mut req = httparse::Request::new(&mut slots);
    let consumed = match req.parse(window) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) if buf.len() > limits.max_head => {
            return Err(HttpError::HeadTooLarge {
                limit: limits.max_head,
            });
        }
        Ok(httparse::Status::Partial) => {
            // A head that can never complete within the limit is refused early.
            if buf.len() == limits.max_head {
                return Err(HttpError::HeadTooLarge {
                    limit: limits.max_head,
                });
            }
            return Ok(None);
        }
        Err(e) => return Err(map_httparse_error(e, limits)),
    };
    let version = match req.version {
        Some(0) => HttpVersion::Http10,
        Some(1) => HttpVersion::Http11,
        _ => return Err(HttpError::UnsupportedVersion),
    };
    let method = Method::from_token(req.method.ok_or(HttpError::Syntax("missing method"))?);
    let path = req
        .path
        .ok_or(HttpError::Syntax("missing request target"))?
        .to_owned();
    let mut headers = Vec::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let value = std::str::from_utf8(h.value).map_err(|_| HttpError::NonUtf8Header {
            name: h.name.to_owned(),
        })?;
        headers.push((h.name.to_owned(), value.trim().to_owned()));
    }
    Ok(Some((
        RequestHead {
            method,
            path,
            version,
            headers,
        },
        consumed,
    )))
}

fn map_httparse_error(e: httparse::Error, limits: &Limits) -> HttpError {
    match e {
        httparse::Error::TooManyHeaders => HttpError::TooManyHeaders {
            limit: limits.max_headers,
        },
        httparse::Error::Version => HttpError::UnsupportedVersion,
        httparse::Error::HeaderName => HttpError::Syntax("invalid header name"),
        httparse::Error::HeaderValue => HttpError::Syntax("invalid header value"),
        httparse::Error::NewLine => HttpError::Syntax("invalid line ending"),
        httparse::Error::Status => HttpError::Syntax("invalid status"),
        httparse::Error::Token => HttpError::Syntax("invalid token"),
    }
}

impl RequestHead {
    /// The value of the first header called `name` (ASCII case-insensitive).
    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// Every value of the headers called `name` (ASCII case-insensitive), in order.
    pub fn headers_named<'a>(&'a self, name: &'a str) -> impl Iterator<Item = &'a str> + 'a {
        self.headers
            .iter()
            .filter(move |(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| &**v)
    }

    /// The body length announced by `Content-Length` (0 when absent).
    ///
    /// # Errors
    ///
    /// `Transfer-Encoding` present, a value that is not plain decimal, several headers that
    /// disagree, or a length above [`Limits::max_body`].
    pub fn content_length(&self, limits: &Limits) -> Result<usize, HttpError> {
        if self.header("Transfer-Encoding").is_some() {
            return Err(HttpError::TransferEncoding);
        }
        let mut found: Option<u64> = None;
        for value in self.headers_named("Content-Length") {
            if value.is_empty() || !value.bytes().all(|b| b.is_ascii_digit()) {
                return Err(HttpError::InvalidContentLength);
            }
            // All digits: the only possible parse failure is overflow.
            let n = value.parse::<u64>().unwrap_or(u64::MAX);
            match found {
                Some(prev) if prev != n => return Err(HttpError::ConflictingContentLength),
                _ => found = Some(n),
            }
        }
        let length = found.unwrap_or(0);
        match usize::try_from(length) {
            Ok(n) if n <= limits.max_body => Ok(n),
            _ => Err(HttpError::BodyTooLarge {
                length,
                limit: limits.max_body,
            }),
        }
    }

    /// The value of cookie `name` from the `Cookie:` headers (all of them, split on `;`).
    ///
    /// Cookie names are compared case-sensitively; the first match wins.
    pub fn cookie(&self, name: &str) -> Option<&str> {
        self.headers_named("Cookie")
            .flat_map(|v| v.split(';'))
            .filter_map(|pair| pair.split_once('='))
            .find(|(k, _)| k.trim() == name)
            .map(|(_, v)| v.trim())
    }

    /// Whether the connection may serve another request after this one.
    ///
    /// HTTP/1.1 is persistent unless `Connection` lists `close`; HTTP/1.0 is always closed after
    /// one answer, as ocserv does (§2.1).
    pub fn keep_alive(&self) -> bool {
        match self.version {
            HttpVersion::Http10 => false,
            HttpVersion::Http11 => !self
                .headers_named("Connection")
                .flat_map(|v| v.split(','))
                .any(|token| token.trim().eq_ignore_ascii_case("close")),
        }
    }
}

#[cfg(test)]
mod tests;
