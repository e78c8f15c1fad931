//! Values written as TOML strings whose syntax has rules: one parsing trait, serde adapters that
//! carry both the problem and its fix into the error, and the impls for std and ipnet types.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};

use ipnet::{IpNet, Ipv4Net, Ipv6Net};
use serde::{Deserialize, Deserializer, de};

/// Separates problem and fix inside a serde custom error message, so that [`crate::parse`] can
/// split them again. A control character cannot occur in our own texts, and user values are
/// always quoted with `{:?}`, which escapes it.
pub(crate) const FIX_SEPARATOR: char = '\u{1f}';

/// A string that is not a valid value for a setting: what is wrong, and the expected form.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{problem}; {fix}")]
pub struct InvalidValue {
    /// What is wrong, quoting the value.
    pub problem: String,
    /// The expected form, with an example.
    pub fix: String,
}

impl InvalidValue {
    /// An invalid value with its fix.
    pub(crate) fn new(problem: impl Into<String>, fix: impl Into<String>) -> Self {
        Self {
            problem: problem.into(),
            fix: fix.into(),
        }
    }

    fn into_serde<E: de::Error>(self) -> E {
        E::custom(format_args!("{}{FIX_SEPARATOR}{}", self.problem, self.fix))
    }
}

/// Parsing from a configuration string with a message fit for an administrator.
pub(crate) trait Text: Sized {
    /// Parses `text`, or says what is wrong and what to write instead.
    fn parse_text(text: &str) -> Result<Self, InvalidValue>;
}

/// Deserializes one string-valued setting.
pub(crate) fn one<'de, D: Deserializer<'de>, T: Text>(d: D) -> Result<T, D::Error> {
    let text = String::deserialize(d)?;
    T::parse_text(&text).map_err(InvalidValue::into_serde)
}

/// Deserializes an optional setting that may be switched off with the string `"none"`.
pub(crate) fn none_or<'de, D: Deserializer<'de>, T: Text>(d: D) -> Result<Option<T>, D::Error> {
    let text = String::deserialize(d)?;
    if text == "none" {
        return Ok(None);
    }
    T::parse_text(&text)
        .map(Some)
        .map_err(|e| InvalidValue::new(e.problem, format!("{}, or \"none\" to disable it", e.fix)))
        .map_err(InvalidValue::into_serde)
}

/// Deserializes an array of string-valued settings.
pub(crate) fn list<'de, D: Deserializer<'de>, T: Text>(d: D) -> Result<Vec<T>, D::Error> {
    struct ListVisitor<T>(std::marker::PhantomData<T>);
    impl<'de, T: Text> de::Visitor<'de> for ListVisitor<T> {
        type Value = Vec<T>;
        fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
            f.write_str("an array of strings")
        }
        fn visit_seq<A: de::SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
            let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(64));
            while let Some(Element(value)) = seq.next_element()? {
                out.push(value);
            }
            Ok(out)
        }
    }
    /// One element, parsed where serde_path_to_error still knows its index.
    struct Element<T>(T);
    impl<'de, T: Text> Deserialize<'de> for Element<T> {
        fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
            one(d).map(Element)
        }
    }
    d.deserialize_seq(ListVisitor(std::marker::PhantomData))
}

/// Serializes an optional value as the string `"none"` when absent, the inverse of [`none_or`].
pub(crate) fn serialize_none_or<S, T>(value: &Option<T>, s: S) -> Result<S::Ok, S::Error>
where
    S: serde::Serializer,
    T: fmt::Display,
{
    match value {
        Some(value) => s.collect_str(value),
        None => s.serialize_str("none"),
    }
}

/// Implements `Serialize` (via `Display`) and `Deserialize` (via [`Text`]) for types that also
/// implement `FromStr<Err = InvalidValue>`.
macro_rules! text_serde {
    ($($ty:ty),* $(,)?) => {$(
        impl $crate::value::Text for $ty {
            fn parse_text(text: &str) -> Result<Self, $crate::value::InvalidValue> {
                text.parse()
            }
        }
        impl serde::Serialize for $ty {
            fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                s.collect_str(self)
            }
        }
        impl<'de> serde::Deserialize<'de> for $ty {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::value::one(d)
            }
        }
    )*};
}
pub(crate) use text_serde;

impl Text for SocketAddr {
    fn parse_text(text: &str) -> Result<Self, InvalidValue> {
        text.parse().map_err(|_| {
            InvalidValue::new(
                format!("{text:?} is not a socket address"),
                "write it as ADDRESS:PORT, e.g. \"0.0.0.0:443\" or \"[::]:443\"",
            )
        })
    }
}

impl Text for IpAddr {
    fn parse_text(text: &str) -> Result<Self, InvalidValue> {
        text.parse().map_err(|_| {
            InvalidValue::new(
                format!("{text:?} is not an IP address"),
                "write a plain address, e.g. \"192.168.77.1\" or \"2001:db8::53\"",
            )
        })
    }
}

impl Text for Ipv4Net {
    fn parse_text(text: &str) -> Result<Self, InvalidValue> {
        parse_v4_net(text).ok_or_else(|| {
            InvalidValue::new(
                format!("{text:?} is not an IPv4 network"),
                "write it as ADDRESS/PREFIX, e.g. \"192.168.77.0/24\"",
            )
        })
    }
}

impl Text for Ipv6Net {
    fn parse_text(text: &str) -> Result<Self, InvalidValue> {
        text.parse().map_err(|_| {
            InvalidValue::new(
                format!("{text:?} is not an IPv6 network"),
                "write it as ADDRESS/PREFIX, e.g. \"fd00:77::/64\"",
            )
        })
    }
}

impl Text for IpNet {
    fn parse_text(text: &str) -> Result<Self, InvalidValue> {
        parse_v4_net(text)
            .map(IpNet::V4)
            .or_else(|| text.parse::<Ipv6Net>().ok().map(IpNet::V6))
            .ok_or_else(|| {
                InvalidValue::new(
                    format!("{text:?} is not an IP network"),
                    "write it as ADDRESS/PREFIX, e.g. \"10.20.0.0/16\" or \"fd00:99::/64\"",
                )
            })
    }
}

/// `A.B.C.D/PREFIX`, or ocserv's `A.B.C.D/NETMASK` (`10.0.0.0/255.0.0.0`).
fn parse_v4_net(text: &str) -> Option<Ipv4Net> {
    if let Ok(net) = text.parse() {
        return Some(net);
    }
    let (addr, mask) = text.split_once('/')?;
    let addr: Ipv4Addr = addr.parse().ok()?;
    let prefix = ipnet::ipv4_mask_to_prefix(mask.parse().ok()?).ok()?;
    Ipv4Net::new(addr, prefix).ok()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn netmask_form_is_accepted() {
        let net = Ipv4Net::parse_text("10.10.10.0/255.255.255.0").unwrap();
        assert_eq!(net.to_string(), "10.10.10.0/24");
        let net = IpNet::parse_text("10.0.0.0/255.0.0.0").unwrap();
        assert_eq!(net.to_string(), "10.0.0.0/8");
        assert!(Ipv4Net::parse_text("10.0.0.0/255.0.255.0").is_err());
    }

    #[test]
    fn messages_quote_the_value_and_give_the_form() {
        let err = Ipv4Net::parse_text("192.168.1.0/33").unwrap_err();
        assert_eq!(err.problem, "\"192.168.1.0/33\" is not an IPv4 network");
        assert!(err.fix.contains("ADDRESS/PREFIX"));
        let err = SocketAddr::parse_text("0.0.0.0").unwrap_err();
        assert!(err.fix.contains("ADDRESS:PORT"));
        let err = IpNet::parse_text("fd00::/129").unwrap_err();
        assert!(err.problem.contains("not an IP network"));
    }
}
