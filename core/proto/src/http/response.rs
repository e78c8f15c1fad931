//! Case- and order-preserving HTTP response heads.

/// An HTTP/1.1 response head whose header names and order are written exactly as given.
///
/// Values (and names, and the reason phrase) have CR, LF and other ASCII control characters
/// removed when they are added, so nothing taken from configuration or a peer can start a new
/// header line.
///
/// ```
/// use wolfguard_proto::http::ResponseHead;
///
/// let mut out = Vec::new();
/// ResponseHead::new(200, "OK").header("X-CSTP-MTU", "1434").write(&mut out);
/// assert_eq!(out, b"HTTP/1.1 200 OK\r\nX-CSTP-MTU: 1434\r\n\r\n");
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
#[must_use]
pub struct ResponseHead {
    status: u16,
    reason: String,
    headers: Vec<(String, String)>,
}

impl ResponseHead {
    /// Starts a response with the given status code and reason phrase.
    pub fn new(status: u16, reason: &str) -> Self {
        debug_assert!(
            (100..=999).contains(&status),
            "HTTP status codes have three digits"
        );
        Self {
            status,
            reason: strip_controls(reason),
            headers: Vec::new(),
        }
    }

    /// Appends a header line; CR, LF and other control characters are removed from both parts.
    pub fn header(mut self, name: &str, value: &str) -> Self {
        self.push_header(name, value);
        self
    }

    /// Appends a header line in place; same sanitising as [`header`](Self::header).
    pub fn push_header(&mut self, name: &str, value: &str) {
        let name: String = strip_controls(name)
            .chars()
            .filter(|&c| c != ':' && c != ' ')
            .collect();
        self.headers.push((name, strip_controls(value)));
    }

    /// The status code.
    pub fn status(&self) -> u16 {
        self.status
    }

    /// The header lines added so far, in order.
    pub fn headers(&self) -> &[(String, String)] {
        &self.headers
    }

    /// Writes the status line, the headers and the terminating blank line.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(b"HTTP/1.1 ");
        out.extend_from_slice(self.status.to_string().as_bytes());
        out.push(b' ');
        out.extend_from_slice(self.reason.as_bytes());
        out.extend_from_slice(b"\r\n");
        for (name, value) in &self.headers {
            write_header(out, name, value);
        }
        out.extend_from_slice(b"\r\n");
    }

    /// The serialised head as a new buffer.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.headers.len() * 32);
        self.write(&mut out);
        out
    }
}

/// A complete response with a `Content-Length` body.
///
/// Headers, in order: `Content-Type` (if given), `Content-Length`, and `Connection: close` when
/// `close` is set; then the body.
pub fn simple_response(
    status: u16,
    reason: &str,
    content_type: Option<&str>,
    body: &[u8],
    close: bool,
) -> Vec<u8> {
    let mut head = ResponseHead::new(status, reason);
    if let Some(ct) = content_type {
        head.push_header("Content-Type", ct);
    }
    head.push_header("Content-Length", &body.len().to_string());
    if close {
        head.push_header("Connection", "close");
    }
    let mut out = Vec::with_capacity(128 + body.len());
    head.write(&mut out);
    out.extend_from_slice(body);
    out
}

/// Writes `name: value\r\n`; both parts must already be free of control characters.
pub(crate) fn write_header(out: &mut Vec<u8>, name: &str, value: &str) {
    out.extend_from_slice(name.as_bytes());
    out.extend_from_slice(b": ");
    out.extend_from_slice(value.as_bytes());
    out.extend_from_slice(b"\r\n");
}

/// Removes ASCII control characters (CR, LF, NUL, …; tab is kept) from header text.
pub(crate) fn strip_controls(s: &str) -> String {
    s.chars()
        .filter(|&c| c == '\t' || !c.is_ascii_control())
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn preserves_case_and_order() {
        let head = ResponseHead::new(200, "OK")
            .header("Set-Cookie", "webvpncontext=; path=/")
            .header("Content-Type", "text/xml")
            .header("X-Transcend-Version", "1")
            .header("Set-Cookie", "webvpn=abc");
        assert_eq!(
            head.to_bytes(),
            b"HTTP/1.1 200 OK\r\nSet-Cookie: webvpncontext=; path=/\r\nContent-Type: text/xml\r\n\
X-Transcend-Version: 1\r\nSet-Cookie: webvpn=abc\r\n\r\n"
        );
        assert_eq!(head.status(), 200);
        assert_eq!(head.headers().len(), 4);
    }

    #[test]
    fn cannot_inject_headers() {
        let out = ResponseHead::new(401, "Bad\r\nX-Evil: 1")
            .header("X-Reason", "a\r\nSet-Cookie: webvpn=stolen")
            .header("X-Bad:\r\nName", "v\n")
            .to_bytes();
        let text = String::from_utf8(out).unwrap();
        assert_eq!(
            text.matches("\r\n").count(),
            4,
            "status + 2 headers + blank: {text:?}"
        );
        assert!(!text.contains("\nSet-Cookie"));
        assert!(text.contains("X-Reason: aSet-Cookie: webvpn=stolen\r\n"));
        assert!(text.contains("X-BadName: v\r\n"));
    }

    #[test]
    fn simple_responses() {
        assert_eq!(
            simple_response(404, "Not found", Some("text/html"), b"<html></html>", true),
            b"HTTP/1.1 404 Not found\r\nContent-Type: text/html\r\nContent-Length: 13\r\n\
Connection: close\r\n\r\n<html></html>"
        );
        assert_eq!(
            simple_response(401, "Authentication failed", None, b"", false),
            b"HTTP/1.1 401 Authentication failed\r\nContent-Length: 0\r\n\r\n"
        );
    }
}
