//! `[tls]`: protocol version floor, cipher restriction and key-exchange groups.

use std::collections::HashSet;
use std::fmt;
use std::str::FromStr;

use serde::{Deserialize, Serialize};

use crate::config::Checker;
use crate::value::{InvalidValue, text_serde};

/// The `[tls]` table.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default, deny_unknown_fields)]
pub struct TlsConfig {
    /// The lowest TLS version accepted. ocserv: `tls-priorities` (`-VERS-TLS1.1`, …).
    pub min_version: TlsVersion,
    /// A cipher list that narrows the built-in secure default; it can never widen it.
    /// ocserv: `tls-priorities`.
    pub cipher_list: Option<CipherList>,
    /// Key-exchange groups in order of preference, hybrid post-quantum first by default.
    pub groups: Vec<TlsGroup>,
}

impl TlsConfig {
    pub(crate) fn validate(&self, check: &mut Checker) {
        if self.groups.is_empty() {
            check.push(
                "tls.groups",
                "no key-exchange group is given, so no client could connect",
                "list at least one",
            );
        }
        let mut seen = HashSet::new();
        for (i, group) in self.groups.iter().enumerate() {
            if !seen.insert(group) {
                check.push(
                    format!("tls.groups[{i}]"),
                    format!("\"{group}\" is listed twice"),
                    "remove one",
                );
            }
        }
    }
}

impl Default for TlsConfig {
    fn default() -> Self {
        Self {
            min_version: TlsVersion::Tls12,
            cipher_list: None,
            groups: vec![TlsGroup::X25519Mlkem768, TlsGroup::X25519, TlsGroup::P256],
        }
    }
}

/// A TLS protocol version, written `"1.2"` or `"1.3"`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
#[non_exhaustive]
pub enum TlsVersion {
    /// TLS 1.2 (RFC 5246): what openconnect built with older GnuTLS and most Cisco clients use.
    Tls12,
    /// TLS 1.3 (RFC 8446).
    Tls13,
}

impl TlsVersion {
    /// The version as written in the file: `"1.2"` or `"1.3"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::Tls12 => "1.2",
            Self::Tls13 => "1.3",
        }
    }
}

impl FromStr for TlsVersion {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let version = text
            .strip_prefix("TLSv")
            .or_else(|| text.strip_prefix("TLS"));
        match version.unwrap_or(text).trim() {
            "1.2" => Ok(Self::Tls12),
            "1.3" => Ok(Self::Tls13),
            _ => Err(InvalidValue::new(
                format!("{text:?} is not a supported TLS version"),
                "write \"1.2\" or \"1.3\" (older versions are insecure and not offered)",
            )),
        }
    }
}

impl fmt::Display for TlsVersion {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A TLS key-exchange group (RFC 8446 "supported group").
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum TlsGroup {
    /// Hybrid X25519 + ML-KEM-768 (TLS 1.3 only).
    X25519Mlkem768,
    /// Hybrid P-256 + ML-KEM-768 (TLS 1.3 only).
    SecP256r1Mlkem768,
    /// Hybrid P-384 + ML-KEM-1024 (TLS 1.3 only).
    SecP384r1Mlkem1024,
    /// X25519 (RFC 7748).
    X25519,
    /// X448 (RFC 7748).
    X448,
    /// NIST P-256 (secp256r1).
    P256,
    /// NIST P-384 (secp384r1).
    P384,
    /// NIST P-521 (secp521r1).
    P521,
}

impl TlsGroup {
    /// Every group, in the order the names are listed in messages.
    pub const ALL: [Self; 8] = [
        Self::X25519Mlkem768,
        Self::SecP256r1Mlkem768,
        Self::SecP384r1Mlkem1024,
        Self::X25519,
        Self::X448,
        Self::P256,
        Self::P384,
        Self::P521,
    ];

    /// The name as written in the file, e.g. `"X25519MLKEM768"` or `"P-256"`.
    pub fn as_str(self) -> &'static str {
        match self {
            Self::X25519Mlkem768 => "X25519MLKEM768",
            Self::SecP256r1Mlkem768 => "SecP256r1MLKEM768",
            Self::SecP384r1Mlkem1024 => "SecP384r1MLKEM1024",
            Self::X25519 => "X25519",
            Self::X448 => "X448",
            Self::P256 => "P-256",
            Self::P384 => "P-384",
            Self::P521 => "P-521",
        }
    }

    /// The IANA TLS `NamedGroup` code point.
    pub fn code_point(self) -> u16 {
        match self {
            Self::X25519Mlkem768 => 0x11ec,
            Self::SecP256r1Mlkem768 => 0x11eb,
            Self::SecP384r1Mlkem1024 => 0x11ed,
            Self::X25519 => 0x001d,
            Self::X448 => 0x001e,
            Self::P256 => 0x0017,
            Self::P384 => 0x0018,
            Self::P521 => 0x0019,
        }
    }

    /// Whether the group needs TLS 1.3 (the hybrid post-quantum groups).
    pub fn is_tls13_only(self) -> bool {
        matches!(
            self,
            Self::X25519Mlkem768 | Self::SecP256r1Mlkem768 | Self::SecP384r1Mlkem1024
        )
    }
}

impl FromStr for TlsGroup {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let alias = match text.to_ascii_lowercase().as_str() {
            "secp256r1" | "prime256v1" => Some(Self::P256),
            "secp384r1" => Some(Self::P384),
            "secp521r1" => Some(Self::P521),
            _ => None,
        };
        alias
            .or_else(|| {
                Self::ALL
                    .into_iter()
                    .find(|g| g.as_str().eq_ignore_ascii_case(text))
            })
            .ok_or_else(|| {
                let names: Vec<_> = Self::ALL.iter().map(|g| format!("\"{g}\"")).collect();
                InvalidValue::new(
                    format!("{text:?} is not a known key-exchange group"),
                    format!("use some of {}", names.join(", ")),
                )
            })
    }
}

impl fmt::Display for TlsGroup {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// An OpenSSL/wolfSSL-style cipher list (`"ECDHE-RSA-AES256-GCM-SHA384:!CHACHA20"`) that names
/// nothing weak.
///
/// The daemon intersects it with its secure default, so it can only remove ciphers; this type
/// additionally refuses lists that try to add NULL, export, anonymous, RC4, DES/3DES or MD5
/// ciphers, or to lower the security level, so the mistake is reported instead of ignored.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CipherList(String);

impl CipherList {
    /// Components that name a weak or unauthenticated cipher, key exchange or MAC.
    const WEAK: [&'static str; 17] = [
        "NULL",
        "ANULL",
        "ENULL",
        "EXP",
        "EXPORT",
        "EXPORT40",
        "EXPORT56",
        "RC4",
        "RC2",
        "DES",
        "3DES",
        "IDEA",
        "MD5",
        "ADH",
        "AECDH",
        "ANON",
        "COMPLEMENTOFALL",
    ];

    /// The list as written.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The first weak component of an element that adds ciphers (no `!` or `-` prefix).
    fn weak_part(element: &str) -> Option<&str> {
        if element.starts_with(['!', '-']) {
            return None;
        }
        let element = element.trim_start_matches('+');
        if let Some(level) = element.strip_prefix("@SECLEVEL=") {
            return (!matches!(level, "2" | "3" | "4" | "5")).then_some(element);
        }
        element
            .split(['-', '+', '_'])
            .find(|part| Self::WEAK.contains(&part.to_ascii_uppercase().as_str()))
    }
}

impl FromStr for CipherList {
    type Err = InvalidValue;
    fn from_str(text: &str) -> Result<Self, InvalidValue> {
        let example = "e.g. \"ECDHE-ECDSA-AES256-GCM-SHA384:ECDHE-RSA-AES256-GCM-SHA384\"";
        let allowed = |c: char| c.is_ascii_alphanumeric() || "-_+=.!@:".contains(c);
        if text.is_empty() || text.len() > 2048 || !text.chars().all(allowed) {
            return Err(InvalidValue::new(
                format!("{text:?} is not a cipher list"),
                format!("write cipher names separated by ':', {example}, or remove the key"),
            ));
        }
        for element in text.split(':').filter(|e| !e.is_empty()) {
            if let Some(weak) = Self::weak_part(element) {
                return Err(InvalidValue::new(
                    format!("{element:?} would enable weak ciphers ({weak})"),
                    format!(
                        "the list can only narrow the secure default: remove {element:?}, or \
                         exclude it with \"!{}\"",
                        element.trim_start_matches('+')
                    ),
                ));
            }
        }
        Ok(Self(text.to_owned()))
    }
}

impl fmt::Display for CipherList {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

text_serde!(TlsVersion, TlsGroup, CipherList);

#[cfg(test)]
mod tests {
    use test_case::test_case;

    use super::*;

    #[test_case("X25519MLKEM768", TlsGroup::X25519Mlkem768)]
    #[test_case("x25519mlkem768", TlsGroup::X25519Mlkem768)]
    #[test_case("SecP384r1MLKEM1024", TlsGroup::SecP384r1Mlkem1024)]
    #[test_case("P-256", TlsGroup::P256)]
    #[test_case("secp256r1", TlsGroup::P256)]
    #[test_case("prime256v1", TlsGroup::P256)]
    #[test_case("P-521", TlsGroup::P521)]
    fn group_names(text: &str, group: TlsGroup) {
        assert_eq!(text.parse::<TlsGroup>().unwrap(), group);
    }

    #[test]
    fn every_group_round_trips() {
        for group in TlsGroup::ALL {
            assert_eq!(group.as_str().parse::<TlsGroup>().unwrap(), group);
        }
        let err = "ffdhe2048".parse::<TlsGroup>().unwrap_err();
        assert!(err.fix.contains("\"X25519MLKEM768\""), "{err}");
    }

    #[test_case("ECDHE-RSA-AES256-GCM-SHA384:ECDHE-ECDSA-AES128-GCM-SHA256")]
    #[test_case("TLS13-AES256-GCM-SHA384:!CHACHA20")]
    #[test_case("HIGH:!aNULL:!MD5:-3DES")]
    #[test_case("@SECLEVEL=3:ECDHE+AESGCM")]
    fn acceptable_cipher_lists(text: &str) {
        assert_eq!(text.parse::<CipherList>().unwrap().as_str(), text);
    }

    #[test_case("RC4-SHA", "RC4")]
    #[test_case("HIGH:aNULL", "aNULL")]
    #[test_case("DES-CBC3-SHA", "DES")]
    #[test_case("ALL:+eNULL", "eNULL")]
    #[test_case("@SECLEVEL=0", "@SECLEVEL=0")]
    #[test_case("HIGH MEDIUM", "not a cipher list")]
    #[test_case("", "not a cipher list")]
    fn weak_or_malformed_cipher_lists(text: &str, named: &str) {
        let err = text.parse::<CipherList>().unwrap_err();
        assert!(err.to_string().contains(named), "{err}");
    }

    #[test]
    fn versions() {
        assert_eq!("1.3".parse::<TlsVersion>().unwrap(), TlsVersion::Tls13);
        assert_eq!("TLSv1.2".parse::<TlsVersion>().unwrap(), TlsVersion::Tls12);
        assert!("1.1".parse::<TlsVersion>().is_err());
        assert!(TlsVersion::Tls12 < TlsVersion::Tls13);
    }
}
