//! URL routing helpers for the HTTPS front end (§2.4).
//!
//! Cisco AnyConnect / Secure Client fetch a handful of files during connection setup and abort
//! when they get a 404 (§2.14). ocserv answers them with fixed stubs (its
//! `ANYCONNECT_CLIENT_COMPAT` URLs); [`static_get`] returns the same. The cookie-authenticated
//! `/profiles/…` download is the daemon's (it needs the configured profile).

/// A fixed response body for a GET.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct StaticPage {
    /// The `Content-Type` to send.
    pub content_type: &'static str,
    /// The body.
    pub body: &'static [u8],
}

const MANIFEST: StaticPage = StaticPage {
    content_type: "text/xml",
    body: b"<vpn rev=\"1.0\"></vpn>",
};
const EMPTY_HTML: StaticPage = StaticPage {
    content_type: "text/html",
    body: b"<html></html>",
};
const UPDATE_TXT: StaticPage = StaticPage {
    content_type: "text/plain",
    body: b"0,0,0000\n",
};
const DOWNLOADER: StaticPage = StaticPage {
    content_type: "application/x-shellscript",
    body: b"#!/bin/sh\n\nexit 0\n",
};
const CSCOT_XML: StaticPage = StaticPage {
    content_type: "text/xml",
    body: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<translation-table></translation-table>\n",
};
const OEM_XML: StaticPage = StaticPage {
    content_type: "text/xml",
    body: b"<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<oem-customization></oem-customization>\n",
};

const PAGES: &[(&str, StaticPage)] = &[
    ("/VPNManifest.xml", MANIFEST),
    ("/1/VPNManifest.xml", MANIFEST),
    ("/1/binaries/update.txt", UPDATE_TXT),
    ("/1/index.html", EMPTY_HTML),
    ("/1/Linux", EMPTY_HTML),
    ("/1/Linux_64", EMPTY_HTML),
    ("/1/Windows", EMPTY_HTML),
    ("/1/Windows_ARM64", EMPTY_HTML),
    ("/1/Darwin_i386", EMPTY_HTML),
    ("/logout", EMPTY_HTML),
    ("/1/binaries/vpndownloader.sh", DOWNLOADER),
    ("/+CSCOT+/translation-table", CSCOT_XML),
    ("/+CSCOT+/oem-customization", OEM_XML),
];

/// The stub page for a Cisco-client GET, if `path` is one of them (a `?query` is allowed).
///
/// `/logout` is a stub too: like ocserv, a GET of it does not end the session.
pub fn static_get(path: &str) -> Option<StaticPage> {
    let (path, _query) = path.split_once('?').unwrap_or((path, ""));
    PAGES
        .iter()
        .find(|(p, _)| *p == path)
        .map(|&(_, page)| page)
}

/// Whether `path` is an auth endpoint: `/`, `/auth` or `/VPN`, exactly or followed by `/` or
/// `?` (ocserv's partial match).
pub fn is_auth_path(path: &str) -> bool {
    ["/", "/auth", "/VPN"].iter().any(|base| {
        path.strip_prefix(base)
            .is_some_and(|rest| rest.is_empty() || rest.starts_with('/') || rest.starts_with('?'))
    })
}

/// Whether `path` is a profile download (`/profiles…`, suffix ignored as in ocserv), which
/// needs a valid `webvpn` cookie.
pub fn is_profile_path(path: &str) -> bool {
    path.starts_with("/profiles")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stubs() {
        let cases: &[(&str, Option<&[u8]>)] = &[
            ("/VPNManifest.xml", Some(b"<vpn rev=\"1.0\"></vpn>")),
            ("/1/VPNManifest.xml", Some(b"<vpn rev=\"1.0\"></vpn>")),
            ("/1/binaries/update.txt", Some(b"0,0,0000\n")),
            ("/1/index.html", Some(b"<html></html>")),
            ("/1/Linux", Some(b"<html></html>")),
            ("/1/Linux_64", Some(b"<html></html>")),
            ("/1/Windows", Some(b"<html></html>")),
            ("/1/Darwin_i386", Some(b"<html></html>")),
            ("/logout", Some(b"<html></html>")),
            ("/logout?x=1", Some(b"<html></html>")),
            ("/1/Linux_6", None),
            ("/1/Linux/", None),
            ("/vpnmanifest.xml", None),
            ("/", None),
            ("", None),
            ("?", None),
        ];
        for &(path, want) in cases {
            assert_eq!(static_get(path).map(|p| p.body), want, "{path}");
        }
        let dl = static_get("/1/binaries/vpndownloader.sh").unwrap();
        assert_eq!(dl.content_type, "application/x-shellscript");
        assert!(dl.body.starts_with(b"#!/bin/sh"));
        // The 1.1.6 bug (§2.4): the translation table with a query must not 404.
        let tt = static_get("/+CSCOT+/translation-table?type=mst&textdomain=AnyConnect&lang=en-US");
        assert_eq!(tt.map(|p| p.content_type), Some("text/xml"));
        assert!(
            static_get("/+CSCOT+/oem-customization?app=AnyConnect&type=oem&platform=win").is_some()
        );
    }

    #[test]
    fn auth_paths() {
        for p in [
            "/",
            "/auth",
            "/VPN",
            "/?x",
            "//",
            "/auth/",
            "/auth?a=b",
            "/VPN/x",
            "/VPN?",
        ] {
            assert!(is_auth_path(p), "{p}");
        }
        for p in [
            "",
            "auth",
            "/authx",
            "/vpn",
            "/VPNx",
            "/x",
            "/1/index.html",
            "/+CSCOT+/x",
        ] {
            assert!(!is_auth_path(p), "{p}");
        }
        assert!(is_profile_path("/profiles/profile.xml"));
        assert!(!is_profile_path("/profile"));
    }
}
