//! What kind of key the server certificate has, read from the PEM private key.

use std::path::Path;

use base64::Engine as _;
use wolfguard_proto::connect::KeyKind;

use crate::TlsError;

/// DER of the rsaEncryption OID (1.2.840.113549.1.1.1).
const RSA_OID: &[u8] = &[
    0x06, 0x09, 0x2a, 0x86, 0x48, 0x86, 0xf7, 0x0d, 0x01, 0x01, 0x01,
];
/// DER of the id-ecPublicKey OID (1.2.840.10045.2.1).
const EC_OID: &[u8] = &[0x06, 0x07, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x02, 0x01];

/// The kind of the PEM private key at `path` (PKCS#1, SEC1 or PKCS#8).
pub fn key_kind(path: &Path) -> Result<KeyKind, TlsError> {
    let bad = |reason: &str| TlsError::PrivateKey {
        path: path.to_owned(),
        reason: reason.into(),
    };
    let text = std::fs::read_to_string(path).map_err(|e| bad(&e.to_string()))?;
    key_kind_of_pem(&text).ok_or_else(|| bad("not an RSA or EC private key in PEM form"))
}

fn key_kind_of_pem(text: &str) -> Option<KeyKind> {
    if text.contains("-----BEGIN RSA PRIVATE KEY-----") {
        return Some(KeyKind::Rsa);
    }
    if text.contains("-----BEGIN EC PRIVATE KEY-----") {
        return Some(KeyKind::Ecdsa);
    }
    let begin = "-----BEGIN PRIVATE KEY-----";
    let start = text.find(begin)? + begin.len();
    let end = start + text[start..].find("-----END PRIVATE KEY-----")?;
    let b64: String = text[start..end]
        .chars()
        .filter(|c| !c.is_whitespace())
        .collect();
    let der = base64::engine::general_purpose::STANDARD.decode(b64).ok()?;
    // PKCS#8 names the algorithm in its first few dozen bytes.
    let head = &der[..der.len().min(48)];
    if head.windows(RSA_OID.len()).any(|w| w == RSA_OID) {
        Some(KeyKind::Rsa)
    } else if head.windows(EC_OID.len()).any(|w| w == EC_OID) {
        Some(KeyKind::Ecdsa)
    } else {
        None
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn generated(args: &[&str]) -> String {
        let out = std::process::Command::new("openssl")
            .args(args)
            .output()
            .unwrap();
        String::from_utf8(out.stdout).unwrap()
    }

    #[test]
    fn pkcs8_pkcs1_and_sec1_keys_are_recognised() {
        let rsa8 = generated(&[
            "genpkey",
            "-algorithm",
            "RSA",
            "-pkeyopt",
            "rsa_keygen_bits:1024",
        ]);
        let ec8 = generated(&[
            "genpkey",
            "-algorithm",
            "EC",
            "-pkeyopt",
            "ec_paramgen_curve:P-256",
        ]);
        assert_eq!(key_kind_of_pem(&rsa8), Some(KeyKind::Rsa));
        assert_eq!(key_kind_of_pem(&ec8), Some(KeyKind::Ecdsa));
        assert_eq!(
            key_kind_of_pem("-----BEGIN RSA PRIVATE KEY-----\n"),
            Some(KeyKind::Rsa)
        );
        assert_eq!(
            key_kind_of_pem("-----BEGIN EC PRIVATE KEY-----\n"),
            Some(KeyKind::Ecdsa)
        );
        assert_eq!(key_kind_of_pem("garbage"), None);
        assert_eq!(
            key_kind_of_pem("-----BEGIN PRIVATE KEY-----\n%%%\n-----END PRIVATE KEY-----"),
            None
        );
    }
}
