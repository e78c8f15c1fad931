use super::*;

const OC_INIT_HEAD: &[u8] = b"POST / HTTP/1.1\r\n\
Host: 10.99.0.1:4443\r\n\
User-Agent: Open AnyConnect VPN Agent v9.01-3\r\n\
Accept: */*\r\n\
Accept-Encoding: identity\r\n\
X-Transcend-Version: 1\r\n\
X-Aggregate-Auth: 1\r\n\
X-Support-HTTP-Auth: true\r\n\
X-Pad: 0000000000000000000000000000000000000000\r\n\
Content-Type: application/xml; charset=utf-8\r\n\
Content-Length: 351\r\n\
\r\n<?xml";

fn parse(buf: &[u8]) -> Result<Option<(RequestHead, usize)>, HttpError> {
    parse_request_head(buf, &Limits::default())
}

fn head_of(buf: &[u8]) -> RequestHead {
    parse(buf).expect("valid").expect("complete").0
}

#[test]
fn parses_openconnect_init_post() {
    let (head, consumed) = parse(OC_INIT_HEAD).unwrap().unwrap();
    assert_eq!(consumed, OC_INIT_HEAD.len() - 5);
    assert_eq!(head.method, Method::Post);
    assert_eq!(head.path, "/");
    assert_eq!(head.version, HttpVersion::Http11);
    assert_eq!(
        head.header("user-agent"),
        Some("Open AnyConnect VPN Agent v9.01-3")
    );
    assert_eq!(head.headers[1].0, "User-Agent", "name case preserved");
    assert_eq!(head.content_length(&Limits::default()), Ok(351));
    assert!(head.keep_alive());
}

#[test]
fn every_truncation_is_partial() {
    let full = &OC_INIT_HEAD[..OC_INIT_HEAD.len() - 5];
    for cut in 0..full.len() {
        assert_eq!(parse(&full[..cut]), Ok(None), "cut at {cut}");
    }
}

#[test]
fn oversized_head_is_refused() {
    let limits = Limits {
        max_head: 64,
        ..Limits::default()
    };
    let mut buf = b"GET / HTTP/1.1\r\nX-Long: ".to_vec();
    buf.extend(std::iter::repeat_n(b'a', 100));
    assert_eq!(
        parse_request_head(&buf, &limits),
        Err(HttpError::HeadTooLarge { limit: 64 })
    );
    // Exactly at the limit without an end: can never complete.
    assert_eq!(
        parse_request_head(&buf[..64], &limits),
        Err(HttpError::HeadTooLarge { limit: 64 })
    );
    // A complete head within the limit followed by lots of body is fine.
    let mut ok = b"GET / HTTP/1.1\r\n\r\n".to_vec();
    ok.extend(std::iter::repeat_n(b'x', 1000));
    assert_eq!(parse_request_head(&ok, &limits).unwrap().unwrap().1, 18);
}

#[test]
fn too_many_headers() {
    let limits = Limits {
        max_headers: 2,
        ..Limits::default()
    };
    let buf = b"GET / HTTP/1.1\r\nA: 1\r\nB: 2\r\nC: 3\r\n\r\n";
    assert_eq!(
        parse_request_head(buf, &limits),
        Err(HttpError::TooManyHeaders { limit: 2 })
    );
}

#[test]
fn malformed_heads() {
    let cases: &[(&[u8], HttpError)] = &[
        (b"GET / HTTP/2.0\r\n\r\n", HttpError::UnsupportedVersion),
        (b"GET / HTTP/1.2\r\n\r\n", HttpError::UnsupportedVersion),
        (b"GET / FTP/1.1\r\n\r\n", HttpError::UnsupportedVersion),
        (
            b"GET / HTTP/1.1\r\nBad Name: x\r\n\r\n",
            HttpError::Syntax("invalid header name"),
        ),
        (
            b"GET / HTTP/1.1\r\nX: a\rb\r\n\r\n",
            HttpError::Syntax("invalid header value"),
        ),
        (
            b"G\x01T / HTTP/1.1\r\n\r\n",
            HttpError::Syntax("invalid token"),
        ),
    ];
    for (input, want) in cases {
        assert_eq!(
            parse(input).as_ref(),
            Err(want),
            "{:?}",
            String::from_utf8_lossy(input)
        );
    }
    assert_eq!(
        parse(b"GET / HTTP/1.1\r\nX-Name: caf\xe9\r\n\r\n"),
        Err(HttpError::NonUtf8Header {
            name: "X-Name".into()
        })
    );
}

#[test]
fn methods_and_versions() {
    let h = head_of(b"CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\n\r\n");
    assert_eq!(h.method, Method::Connect);
    let h = head_of(b"HEAD / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n");
    assert_eq!(
        (h.method.clone(), h.version),
        (Method::Head, HttpVersion::Http10)
    );
    assert!(!h.keep_alive(), "HTTP/1.0 is always closed");
    let h = head_of(b"get / HTTP/1.1\r\n\r\n");
    assert_eq!(h.method, Method::Other("get".into()));
    assert_eq!(h.method.as_str(), "get");
    let h = head_of(b"GET / HTTP/1.1\r\nConnection: Keep-Alive, Close\r\n\r\n");
    assert!(!h.keep_alive());
}

#[test]
fn content_length_rules() {
    let l = Limits::default();
    let cl = |s: &[u8]| head_of(s).content_length(&l);
    assert_eq!(cl(b"POST / HTTP/1.1\r\n\r\n"), Ok(0));
    assert_eq!(
        cl(b"POST / HTTP/1.1\r\nContent-Length: 5\r\ncontent-length: 5\r\n\r\n"),
        Ok(5)
    );
    assert_eq!(
        cl(b"POST / HTTP/1.1\r\nContent-Length: 5\r\nContent-Length: 6\r\n\r\n"),
        Err(HttpError::ConflictingContentLength)
    );
    for bad in ["-1", "+5", "5 5", "0x10", "", "1e3"] {
        let raw = format!("POST / HTTP/1.1\r\nContent-Length: {bad}\r\n\r\n");
        assert_eq!(
            cl(raw.as_bytes()),
            Err(HttpError::InvalidContentLength),
            "{bad:?}"
        );
    }
    assert_eq!(
        cl(b"POST / HTTP/1.1\r\nContent-Length: 262145\r\n\r\n"),
        Err(HttpError::BodyTooLarge {
            length: 262_145,
            limit: 262_144
        })
    );
    assert_eq!(
        cl(b"POST / HTTP/1.1\r\nContent-Length: 99999999999999999999999\r\n\r\n"),
        Err(HttpError::BodyTooLarge {
            length: u64::MAX,
            limit: 262_144
        })
    );
    assert_eq!(
        cl(b"POST / HTTP/1.1\r\nTransfer-Encoding: chunked\r\n\r\n"),
        Err(HttpError::TransferEncoding)
    );
}

#[test]
fn cookies_across_headers() {
    let h = head_of(
        b"GET / HTTP/1.1\r\nCookie: webvpncontext=abc; webvpnc=x\r\n\
          cookie: junk;webvpn=APpL+/JI=\r\n\r\n",
    );
    assert_eq!(h.cookie("webvpn"), Some("APpL+/JI="));
    assert_eq!(h.cookie("webvpncontext"), Some("abc"));
    assert_eq!(h.cookie("WEBVPN"), None);
    assert_eq!(h.cookie("missing"), None);
}
