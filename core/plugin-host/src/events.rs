//! The daemon's bus events as the contract's [`LogEvent`]s: stable kind names and string fields.

use wolfguard_plugin_api::LogEvent;
use wolfguard_runtime::{DownReason, Event};

/// Converts a bus event. Kinds a newer daemon adds map to `other`, with their debug text.
pub fn log_event(ev: &Event) -> LogEvent {
    let mut fields: Vec<(String, String)> = Vec::new();
    let mut put = |k: &str, v: String| fields.push((k.to_owned(), v));
    let (kind, session) = match ev {
        Event::SessionUp {
            session,
            user,
            group,
            peer,
            ipv4,
            ipv6,
        } => {
            put("user", user.clone());
            put("group", group.clone().unwrap_or_default());
            put("peer", peer.to_string());
            put("ipv4", ipv4.map(|a| a.to_string()).unwrap_or_default());
            put("ipv6", ipv6.map(|a| a.to_string()).unwrap_or_default());
            ("session-up", Some(session.0))
        }
        Event::SessionDown {
            session,
            user,
            reason,
            rx_bytes,
            tx_bytes,
        } => {
            put("user", user.clone());
            put("reason", down_reason(reason));
            put("rx_bytes", rx_bytes.to_string());
            put("tx_bytes", tx_bytes.to_string());
            ("session-down", Some(session.0))
        }
        Event::AuthResult {
            user,
            peer,
            ok,
            reason,
        } => {
            put("user", user.clone());
            put("peer", peer.to_string());
            put("ok", ok.to_string());
            put("reason", reason.clone().unwrap_or_default());
            ("auth-result", None)
        }
        Event::DpdTimeout { session, user } => {
            put("user", user.clone());
            ("dpd-timeout", Some(session.0))
        }
        Event::Ban {
            ip,
            until_secs,
            score,
        } => {
            put("ip", ip.to_string());
            put("until_secs", until_secs.to_string());
            put("score", score.to_string());
            ("ban", None)
        }
        Event::ConfigReloaded {
            applied,
            needs_restart,
        } => {
            put("applied", applied.join(","));
            put("needs_restart", needs_restart.join(","));
            ("config-reloaded", None)
        }
        Event::DtlsUp { session } => ("dtls-up", Some(session.0)),
        Event::DtlsDown { session } => ("dtls-down", Some(session.0)),
        other => {
            put("debug", format!("{other:?}"));
            ("other", None)
        }
    };
    LogEvent {
        kind: kind.to_owned(),
        session,
        fields,
    }
}

fn down_reason(r: &DownReason) -> String {
    match r {
        DownReason::UserDisconnect => "user-disconnect".into(),
        DownReason::ServerDisconnect => "server-disconnect".into(),
        DownReason::DpdTimeout => "dpd-timeout".into(),
        DownReason::IdleTimeout => "idle-timeout".into(),
        DownReason::SessionExpired => "session-expired".into(),
        DownReason::Error(e) => format!("error: {e}"),
        DownReason::Shutdown => "shutdown".into(),
        other => format!("{other:?}"),
    }
}

#[cfg(test)]
mod tests {
    use wolfguard_runtime::SessionId;

    use super::*;

    #[test]
    fn kinds_are_the_contract_names() {
        let ev = Event::SessionDown {
            session: SessionId(9),
            user: "alice".into(),
            reason: DownReason::IdleTimeout,
            rx_bytes: 1,
            tx_bytes: 2,
        };
        let le = log_event(&ev);
        assert_eq!(le.kind, "session-down");
        assert_eq!(le.session, Some(9));
        assert_eq!(le.field("reason"), Some("idle-timeout"));
        assert!(LogEvent::KINDS.contains(&le.kind.as_str()));
    }
}
