use super::*;

/// §2.5: openconnect 9.01's first POST.
const OC_INIT: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="init" aggregate-auth-version="2">
  <version who="vpn">v9.01-3</version>
  <device-id>linux-64</device-id>
  <capabilities>
    <auth-method>single-sign-on-v2</auth-method>
    <auth-method>single-sign-on-external-browser</auth-method>
  </capabilities>
  <group-access>https://10.99.0.1:4443/</group-access>
</config-auth>
"#;

/// §2.7 / §9 step 2: the reply filling username and password in one form.
const OC_AUTH_REPLY: &str = r#"<?xml version="1.0" encoding="UTF-8"?>
<config-auth client="vpn" type="auth-reply" aggregate-auth-version="2"><version who="vpn">v9.01-3</version><device-id>linux-64</device-id><capabilities><auth-method>single-sign-on-v2</auth-method></capabilities><auth><username>alice</username><password>secret1</password></auth><group-select>engineering</group-select></config-auth>
"#;

fn parse(s: &str) -> Result<AuthPost, AuthParseError> {
    parse_auth_post(s.as_bytes())
}

#[test]
fn openconnect_init() {
    let p = parse(OC_INIT).unwrap();
    assert_eq!(p, AuthPost::empty(AuthPostKind::Init));
}

#[test]
fn openconnect_init_with_group_select() {
    let body = OC_INIT.replace(
        "</config-auth>",
        "<group-select>Engineering Team</group-select></config-auth>",
    );
    let p = parse(&body).unwrap();
    assert_eq!(p.kind, AuthPostKind::Init);
    assert_eq!(p.group_select.as_deref(), Some("Engineering Team"));
}

#[test]
fn openconnect_auth_reply() {
    let p = parse(OC_AUTH_REPLY).unwrap();
    assert_eq!(p.kind, AuthPostKind::AuthReply);
    assert_eq!(p.username.as_deref(), Some("alice"));
    assert_eq!(p.password.as_deref(), Some("secret1"));
    assert_eq!(p.secondary_password, None);
    assert_eq!(p.group_select.as_deref(), Some("engineering"));
}

#[test]
fn entities_cdata_bom_and_whitespace() {
    let body = "\u{feff}\n  <config-auth type=\"auth-reply\"><auth>\
        <username> bob&amp;co </username>\
        <password> p&lt;&#x41;&#66;&quot; </password></auth></config-auth>";
    let p = parse(body).unwrap();
    assert_eq!(
        p.username.as_deref(),
        Some("bob&co"),
        "username trimmed and unescaped"
    );
    assert_eq!(p.password.as_deref(), Some(" p<AB\" "), "password verbatim");
    let p =
        parse("<config-auth type='auth-reply'><password><![CDATA[a<b]]></password></config-auth>")
            .unwrap();
    assert_eq!(p.password.as_deref(), Some("a<b"));
}

#[test]
fn password_rules() {
    let p = parse(
        "<config-auth type=\"auth-reply\"><auth><secondary_password>123456</secondary_password>\
         </auth></config-auth>",
    )
    .unwrap();
    assert_eq!(
        p.password.as_deref(),
        Some("123456"),
        "ocserv: *_password stands in"
    );
    assert_eq!(p.secondary_password.as_deref(), Some("123456"));

    let p = parse(
        "<config-auth type=\"auth-reply\"><auth><new_password>n</new_password>\
         <password>real</password><password>second</password></auth></config-auth>",
    )
    .unwrap();
    assert_eq!(
        p.password.as_deref(),
        Some("real"),
        "<password> wins, first one"
    );

    let p =
        parse("<config-auth type=\"auth-reply\"><auth><password/></auth></config-auth>").unwrap();
    assert_eq!(p.password.as_deref(), Some(""));
}

#[test]
fn logout_and_other_kinds() {
    let p = parse(
        "<?xml version=\"1.0\"?><config-auth client=\"vpn\" type=\"logout\">\
         <session-token>tok</session-token></config-auth>",
    )
    .unwrap();
    assert_eq!(
        (p.kind, p.session_token.as_deref()),
        (AuthPostKind::Logout, Some("tok"))
    );
    for doc in [
        "<config-auth/>",
        "<config-auth type=\"weird\"></config-auth>",
        "<other type=\"init\"><username>x</username></other>",
        "<x:config-auth xmlns:x=\"urn:x\" type=\"sso\"/>",
    ] {
        assert_eq!(parse(doc).unwrap().kind, AuthPostKind::Other, "{doc}");
    }
    // Namespaced root still classifies by local name.
    let p = parse("<x:config-auth xmlns:x=\"urn:x\" type=\"init\"/>").unwrap();
    assert_eq!(p.kind, AuthPostKind::Init);
}

#[test]
fn legacy_forms() {
    let p = parse("username=alice&group_list=sales").unwrap();
    assert_eq!(p.kind, AuthPostKind::Legacy);
    assert_eq!(p.username.as_deref(), Some("alice"));
    assert_eq!(p.group_select.as_deref(), Some("sales"));
    assert_eq!(p.password, None);

    let p = parse("group%5flist=Engineering+Team&my_password=p%26ss%3D+x&password=later").unwrap();
    assert_eq!(p.group_select.as_deref(), Some("Engineering Team"));
    assert_eq!(
        p.password.as_deref(),
        Some("p&ss= x"),
        "first key containing password"
    );

    let p = parse("secondary_password=42&x=&&flag").unwrap();
    assert_eq!(p.password.as_deref(), Some("42"));
    assert_eq!(p.secondary_password.as_deref(), Some("42"));

    let p = parse("username=caf%C3%A9").unwrap();
    assert_eq!(p.username.as_deref(), Some("café"));

    assert_eq!(parse("").unwrap(), AuthPost::empty(AuthPostKind::Legacy));
}

#[test]
fn legacy_malformed() {
    assert_eq!(
        parse("username=%zz"),
        Err(AuthParseError::BadPercentEncoding)
    );
    assert_eq!(
        parse("username=%4"),
        Err(AuthParseError::BadPercentEncoding)
    );
    assert_eq!(parse("username=%ff%fe"), Err(AuthParseError::NonUtf8));
    let long = format!("password={}", "a".repeat(MAX_VALUE_LEN + 1));
    assert!(matches!(
        parse(&long),
        Err(AuthParseError::ValueTooLong { .. })
    ));
    let huge = format!("password={}", "%41".repeat(MAX_VALUE_LEN * 2));
    assert!(matches!(
        parse(&huge),
        Err(AuthParseError::ValueTooLong { .. })
    ));
    // Unknown keys are not decoded, so garbage there is harmless.
    assert!(parse("junk=%zz&username=a").is_ok());
}

#[test]
fn non_utf8_body() {
    assert_eq!(
        parse_auth_post(b"<config-auth>\xff</config-auth>"),
        Err(AuthParseError::NonUtf8)
    );
    assert_eq!(
        parse_auth_post(b"username=\xc3"),
        Err(AuthParseError::NonUtf8)
    );
}

#[test]
fn xml_bombs_and_doctype() {
    let billion_laughs = r#"<?xml version="1.0"?>
<!DOCTYPE lolz [<!ENTITY lol "lol"><!ENTITY lol2 "&lol;&lol;&lol;&lol;">]>
<config-auth type="auth-reply"><username>&lol2;</username></config-auth>"#;
    assert_eq!(parse(billion_laughs), Err(AuthParseError::DocType));
    let external = r#"<!DOCTYPE x SYSTEM "file:///etc/passwd"><config-auth/>"#;
    assert_eq!(parse(external), Err(AuthParseError::DocType));
    // An undeclared entity is an error, not an expansion.
    let undeclared = "<config-auth type=\"auth-reply\"><username>&xxe;</username></config-auth>";
    assert!(matches!(parse(undeclared), Err(AuthParseError::Xml(_))));
}

#[test]
fn depth_and_count_caps() {
    let deep = format!(
        "{}{}",
        "<a>".repeat(MAX_DEPTH + 1),
        "</a>".repeat(MAX_DEPTH + 1)
    );
    assert_eq!(parse(&deep), Err(AuthParseError::TooDeep));
    let ok = format!("{}{}", "<a>".repeat(MAX_DEPTH), "</a>".repeat(MAX_DEPTH));
    assert!(parse(&ok).is_ok());
    let wide = format!("<config-auth>{}</config-auth>", "<x/>".repeat(MAX_ELEMENTS));
    assert_eq!(parse(&wide), Err(AuthParseError::TooManyElements));
    let long = format!(
        "<config-auth><username>{}</username></config-auth>",
        "&amp;".repeat(MAX_VALUE_LEN + 1)
    );
    assert_eq!(
        parse(&long),
        Err(AuthParseError::ValueTooLong {
            field: "username".into()
        })
    );
}

#[test]
fn structurally_malformed_xml() {
    assert_eq!(
        parse("<?xml version=\"1.0\"?>"),
        Err(AuthParseError::NoRoot)
    );
    assert_eq!(
        parse("<!-- only a comment -->"),
        Err(AuthParseError::NoRoot)
    );
    assert_eq!(parse("<a/><b/>"), Err(AuthParseError::MultipleRoots));
    assert_eq!(
        parse("<config-auth><auth><username>x"),
        Err(AuthParseError::Truncated)
    );
    for bad in [
        "<config-auth></auth>",
        "<config-auth type=\"init></config-auth>",
        "<config-auth type=\"a\" type=\"b\"/>",
        "<",
        "<config-auth><username>x</user",
    ] {
        assert!(parse(bad).is_err(), "{bad}");
    }
    // Every prefix of a real body is either an error or parses without panicking.
    for cut in 0..OC_AUTH_REPLY.len() {
        let _ = parse_auth_post(&OC_AUTH_REPLY.as_bytes()[..cut]);
    }
}
