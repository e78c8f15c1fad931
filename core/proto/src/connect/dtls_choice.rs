//! Which DTLS mode and suite to announce in the CONNECT response (§5.2–§5.4).

use crate::connect::ConnectRequest;

/// The kind of the server's certificate key: resumption suites must suit it even though an
/// abbreviated handshake never uses it, because the DTLS library checks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum KeyKind {
    /// RSA key.
    Rsa,
    /// ECDSA key.
    Ecdsa,
}

/// The server's decision for a client's DTLS channel.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum DtlsChoice {
    /// PSK-NEGOTIATE: key from the TLS exporter.
    Psk,
    /// Resumption of the client's master secret.
    Resume {
        /// Announce in `X-DTLS12-CipherSuite` (true) or `X-DTLS-CipherSuite` (false).
        dtls12_header: bool,
        /// The name announced to the client.
        announced: &'static str,
        /// The suite's name in the DTLS library (OpenSSL-style).
        suite: &'static str,
    },
}

/// `X-DTLS12-CipherSuite` names the server accepts, by key kind, in preference order.
const DTLS12_ECDSA: &[&str] = &[
    "ECDHE-ECDSA-AES256-GCM-SHA384",
    "ECDHE-ECDSA-AES128-GCM-SHA256",
];
const DTLS12_RSA: &[&str] = &[
    "ECDHE-RSA-AES256-GCM-SHA384",
    "ECDHE-RSA-AES128-GCM-SHA256",
    "AES256-GCM-SHA384",
    "AES128-GCM-SHA256",
];
/// openconnect's `OC-DTLS1_2-*` names (RSA key exchange suites) and their real suites.
const OC_DTLS12: &[(&str, &str)] = &[
    ("OC-DTLS1_2-AES256-GCM", "AES256-GCM-SHA384"),
    ("OC-DTLS1_2-AES128-GCM", "AES128-GCM-SHA256"),
];

/// Picks the DTLS mode: PSK-NEGOTIATE whenever offered (it needs no secret on the wire), else a
/// resumption suite the client listed and the server's key suits, else none. DTLS 0.9 names are
/// never picked (the library lacks DTLS 0.9): such clients stay on CSTP.
pub fn choose_dtls(req: &ConnectRequest, key: KeyKind) -> Option<DtlsChoice> {
    if req.offers_psk_negotiate() {
        return Some(DtlsChoice::Psk);
    }
    req.dtls_master_secret?;
    let ours = match key {
        KeyKind::Ecdsa => DTLS12_ECDSA,
        KeyKind::Rsa => DTLS12_RSA,
    };
    for name in ours {
        if req.dtls12_ciphersuites.iter().any(|c| c == name) {
            return Some(DtlsChoice::Resume {
                dtls12_header: true,
                announced: name,
                suite: name,
            });
        }
    }
    if key == KeyKind::Rsa {
        for (name, suite) in OC_DTLS12 {
            if req.dtls_ciphersuites.iter().any(|c| c == name) {
                return Some(DtlsChoice::Resume {
                    dtls12_header: false,
                    announced: name,
                    suite,
                });
            }
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::http::{Limits, parse_request_head};

    fn req(headers: &str) -> ConnectRequest {
        let text = format!("CONNECT /CSCOSSLC/tunnel HTTP/1.1\r\nHost: x\r\n{headers}\r\n");
        let (head, _) = parse_request_head(text.as_bytes(), &Limits::default())
            .unwrap()
            .unwrap();
        ConnectRequest::from_head(&head).unwrap()
    }

    const MS: &str = "X-DTLS-Master-Secret: 00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF00112233445566778899AABBCCDDEEFF\r\n";

    #[test]
    fn psk_wins_when_offered() {
        let r = req(&format!(
            "{MS}X-DTLS-CipherSuite: PSK-NEGOTIATE:OC-DTLS1_2-AES256-GCM\r\n"
        ));
        assert_eq!(choose_dtls(&r, KeyKind::Rsa), Some(DtlsChoice::Psk));
    }

    #[test]
    fn resumption_suites_follow_the_key_kind() {
        let r = req(&format!(
            "{MS}X-DTLS12-CipherSuite: ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256\r\n"
        ));
        assert!(matches!(
            choose_dtls(&r, KeyKind::Rsa),
            Some(DtlsChoice::Resume {
                announced: "ECDHE-RSA-AES256-GCM-SHA384",
                dtls12_header: true,
                ..
            })
        ));
        assert!(matches!(
            choose_dtls(&r, KeyKind::Ecdsa),
            Some(DtlsChoice::Resume {
                announced: "ECDHE-ECDSA-AES128-GCM-SHA256",
                ..
            })
        ));
        let oc = req(&format!(
            "{MS}X-DTLS-CipherSuite: OC-DTLS1_2-AES128-GCM:AES256-SHA\r\n"
        ));
        assert_eq!(
            choose_dtls(&oc, KeyKind::Rsa),
            Some(DtlsChoice::Resume {
                dtls12_header: false,
                announced: "OC-DTLS1_2-AES128-GCM",
                suite: "AES128-GCM-SHA256"
            })
        );
        assert_eq!(
            choose_dtls(&oc, KeyKind::Ecdsa),
            None,
            "static RSA needs an RSA key"
        );
    }

    #[test]
    fn no_secret_or_only_dtls09_names_means_no_dtls() {
        let r = req("X-DTLS12-CipherSuite: ECDHE-RSA-AES256-GCM-SHA384\r\n");
        assert_eq!(choose_dtls(&r, KeyKind::Rsa), None);
        let old = req(&format!(
            "{MS}X-DTLS-CipherSuite: AES256-SHA:AES128-SHA:DES-CBC3-SHA\r\n"
        ));
        assert_eq!(choose_dtls(&old, KeyKind::Rsa), None);
    }
}
