//! Arbitrary auth POST bodies; whatever parses is echoed through our own XML writer, whose
//! output must parse again with the same values.
#![no_main]

use libfuzzer_sys::fuzz_target;
use wolfguard_proto::auth::{AuthForm, GroupOption, complete_xml, parse_auth_post};

fuzz_target!(|data: &[u8]| {
    let Ok(post) = parse_auth_post(data) else {
        return;
    };
    for v in [
        &post.username,
        &post.password,
        &post.secondary_password,
        &post.group_select,
    ] {
        if let Some(v) = v {
            assert!(v.len() <= wolfguard_proto::auth::MAX_VALUE_LEN);
        }
    }
    let text = post.username.clone().unwrap_or_default();
    let group = post.group_select.clone().unwrap_or_default();
    let form = AuthForm {
        banner: Some(text.clone()),
        message: text.clone(),
        error: post.password.clone(),
        groups: vec![GroupOption {
            name: group.clone(),
            label: text.clone(),
        }],
        selected_group: Some(group),
        action: text.clone(),
        ..AuthForm::default()
    };
    let xml = form.to_xml();
    parse_auth_post(xml.as_bytes()).expect("our own form must be well-formed XML");
    let done = complete_xml(Some(&text));
    parse_auth_post(done.as_bytes()).expect("our own complete document must be well-formed");
    // A reply built from the values must give them back (modulo trimming and dropped controls).
    let reply = format!(
        "<config-auth type=\"auth-reply\"><auth><username>{}</username></auth></config-auth>",
        wolfguard_proto::auth::xml_escape(&text)
    );
    let again = parse_auth_post(reply.as_bytes()).expect("escaped reply parses");
    let kept = |c: char| {
        (u32::from(c) >= 0x20 || "\t\n\r".contains(c)) && c != '\u{fffe}' && c != '\u{ffff}'
    };
    let clean: String = text.chars().filter(|&c| kept(c)).collect();
    assert_eq!(again.username.as_deref(), Some(clean.trim()));
});
