//! The auth conversation: username and password, checked against the password file.
//!
//! ```text
//!   begin {}                    ─► challenge [username, password]
//!   begin {username}            ─► challenge [password], state = username
//!   begin/continue {username, password} or continue {password} + state ─► accept | reject
//! ```

use wolfguard_sdk::prelude::*;

use crate::passwd::PasswordFile;

/// A valid SHA-512-crypt hash of a random string: unknown and locked users are checked against it
/// so their answers take as long as a wrong password for a real user (no user enumeration by
/// timing).
const DUMMY_HASH: &str = "$6$wolfguarddummy$25aAOpQq.sZoUucduSCaCpMP.e2Ivrc54bwCTbTKPjA1hp9mI1gn92vIhG1Xg9Q.JRmXeK95vRsUxuyArYCES/";

/// The outcome of one password check.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Check {
    /// Valid credentials; the user's groups from the file.
    Accept(Vec<String>),
    /// Wrong password, unknown or locked user; the reason is for logs only.
    Reject(&'static str),
}

/// Checks `password` for `user`. Blocking and CPU-heavy by design (crypt rounds).
pub fn check(file: &PasswordFile, user: &str, password: &str) -> (Check, Option<String>) {
    let reload_error = file.reload().err();
    let verdict = match file.lookup(user) {
        None => {
            let _ = pwhash::unix::verify(password, DUMMY_HASH);
            Check::Reject("unknown user")
        }
        Some(e) if e.hash.starts_with('!') => {
            let _ = pwhash::unix::verify(password, DUMMY_HASH);
            Check::Reject("account locked")
        }
        Some(e) if !is_supported_hash(&e.hash) => Check::Reject("unsupported hash format"),
        Some(e) if pwhash::unix::verify(password, &e.hash) => Check::Accept(e.groups),
        Some(_) => Check::Reject("wrong password"),
    };
    (verdict, reload_error)
}

/// The crypt formats ocpasswd writes. Plain DES crypt and friends are refused.
fn is_supported_hash(hash: &str) -> bool {
    ["$6$", "$5$", "$1$"].iter().any(|p| hash.starts_with(p))
}

/// One step of the conversation.
pub fn step(file: &PasswordFile, host: &Host, req: &AuthRequest) -> AuthStep {
    let state_user = String::from_utf8(req.state.clone())
        .ok()
        .filter(|u| !u.is_empty());
    let user = req.answer("username").map(str::to_owned).or(state_user);
    let (user, password) = match (user, req.answer("password")) {
        (Some(u), Some(p)) => (u, p),
        (Some(u), None) => return challenge(vec![password_prompt()], u.into_bytes()),
        (None, _) => {
            let username = Prompt {
                name: "username".into(),
                label: "Username:".into(),
                kind: PromptKind::Text,
            };
            return challenge(vec![username, password_prompt()], Vec::new());
        }
    };
    let (verdict, reload_error) = check(file, &user, password);
    if let Some(e) = reload_error {
        // Keep serving with the last good copy; the operator sees why.
        host.warn(&format!("password file reload failed: {e}"));
    }
    match verdict {
        Check::Accept(groups) => {
            // A selected group must be one of the user's groups, when the file lists any.
            if let Some(g) = &req.group {
                if !groups.is_empty() && !groups.contains(g) {
                    host.counter_add("rejected", 1);
                    return AuthStep::reject("group not allowed");
                }
            }
            host.counter_add("accepted", 1);
            AuthStep::Accept {
                user,
                groups,
                attributes: Vec::new(),
            }
        }
        Check::Reject(reason) => {
            host.counter_add("rejected", 1);
            AuthStep::reject(reason)
        }
    }
}

fn password_prompt() -> Prompt {
    Prompt {
        name: "password".into(),
        label: "Password:".into(),
        kind: PromptKind::Password,
    }
}

fn challenge(prompts: Vec<Prompt>, state: Vec<u8>) -> AuthStep {
    AuthStep::Challenge {
        message: "Please enter your username and password.".into(),
        prompts,
        state,
    }
}
