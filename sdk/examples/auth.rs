//! An auth plugin: one-time codes from the plugin's settings, as a two-step conversation.
//!
//! ```toml
//! [plugins.example-auth]
//! path = "target/debug/examples/libauth.so"
//! settings = { users = { alice = "123456" } }
//! ```

use wolfguard_sdk::prelude::*;

/// Accepts users whose code matches `settings.users.<name>`.
pub struct CodeAuth {
    users: Vec<(String, String)>,
    host: Host,
}

impl Plugin for CodeAuth {
    const NAME: &'static str = "example-auth";

    fn new(config: &Config, host: Host) -> Result<Self, PluginError> {
        let users = config
            .value("users")
            .and_then(|v| v.as_table())
            .map(|t| {
                t.iter()
                    .filter_map(|(u, c)| Some((u.clone(), c.as_str()?.to_owned())))
                    .collect()
            })
            .unwrap_or_default();
        Ok(Self { users, host })
    }
}

impl AuthPlugin for CodeAuth {
    fn auth_begin(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
        let Some(user) = req.answer("username") else {
            return Ok(AuthStep::reject("no user name"));
        };
        Ok(AuthStep::Challenge {
            message: "Enter your code".into(),
            prompts: vec![Prompt {
                name: "code".into(),
                label: "Code:".into(),
                kind: PromptKind::Password,
            }],
            state: user.as_bytes().to_vec(),
        })
    }

    fn auth_continue(&self, req: &AuthRequest) -> Result<AuthStep, PluginError> {
        let user = String::from_utf8_lossy(&req.state).into_owned();
        let ok = self
            .users
            .iter()
            .any(|(u, c)| *u == user && Some(c.as_str()) == req.answer("code"));
        self.host
            .counter_add(if ok { "accepted" } else { "rejected" }, 1);
        Ok(if ok {
            AuthStep::Accept {
                user,
                groups: Vec::new(),
                attributes: Vec::new(),
            }
        } else {
            AuthStep::reject("wrong code")
        })
    }
}

wolfguard_sdk::export_plugin!(CodeAuth, auth);

#[cfg(test)]
mod tests {
    use wolfguard_sdk::testing::MockHost;

    use super::*;

    #[test]
    fn two_steps() {
        let mock = MockHost::new();
        let p: CodeAuth = mock.instantiate("users = { alice = \"1\" }").unwrap();
        let mut req = AuthRequest {
            answers: vec![Answer {
                name: "username".into(),
                value: "alice".into(),
            }],
            ..AuthRequest::default()
        };
        let AuthStep::Challenge { state, .. } = p.auth_begin(&req).unwrap() else {
            panic!("expected a challenge");
        };
        req.state = state;
        req.answers = vec![Answer {
            name: "code".into(),
            value: "1".into(),
        }];
        assert!(matches!(
            p.auth_continue(&req).unwrap(),
            AuthStep::Accept { .. }
        ));
        assert_eq!(mock.counter("accepted"), 1);
    }
}
