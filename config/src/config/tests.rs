//! Whole-document tests: malformed inputs, each asserting that the message names the file, the
//! key and a fix; several issues at once; round trips.

use std::path::Path;

use test_case::test_case;

use super::*;
use crate::{GroupDef, TlsGroup, from_str};

const ORIGIN: &str = "/etc/wolfguard/wolfguard.toml";

/// The smallest valid document.
const MINIMAL: &str = "[server]\ncertificate = \"/etc/wolfguard/server.crt\"\n\
                       private_key = \"/etc/wolfguard/server.key\"\n\
                       [auth]\npassword_file = \"/etc/wolfguard/passwd\"\n";

/// A config with every optional key set and every list non-empty, so that serializing it shows
/// every key.
pub(crate) fn everything_set() -> Config {
    let mut config = from_str(MINIMAL, Path::new(ORIGIN)).expect("MINIMAL is valid");
    config.tls.cipher_list = Some("ECDHE-RSA-AES256-GCM-SHA384".parse().unwrap());
    config.tls.groups.push(TlsGroup::P384);
    let network = &mut config.network;
    network.ipv6_pool = Some("fd00:77::/64".parse().unwrap());
    network.dns = vec![
        "192.168.77.1".parse().unwrap(),
        "2001:db8::53".parse().unwrap(),
    ];
    network.default_domain = Some("corp.example.com".parse().unwrap());
    network.split_dns = vec!["corp.example.com".parse().unwrap()];
    network.routes = vec![
        "10.0.0.0/8".parse().unwrap(),
        "fd00:99::/64".parse().unwrap(),
    ];
    network.no_routes = vec!["10.9.0.0/16".parse().unwrap()];
    config.auth.banner = Some("Authorized use only.\nActivity is logged.".into());
    config.auth.pre_login_banner = Some("Welcome".into());
    config.auth.groups = vec![
        GroupDef {
            name: "engineering".into(),
            label: Some("Engineering Team".into()),
        },
        GroupDef {
            name: "sales".into(),
            label: None,
        },
    ];
    config.auth.default_group = Some("sales".into());
    let plugin: toml::Table = toml::from_str("load = true\nsecret = \"s3cret\"").unwrap();
    config.plugins.insert("auth-radius".into(), plugin);
    config
}

/// The error text for `text`, which must not load.
fn error_text(text: &str) -> String {
    match from_str(text, Path::new(ORIGIN)) {
        Ok(config) => panic!("expected an error for:\n{text}\ngot {config:#?}"),
        Err(err) => err.to_string(),
    }
}

/// Asserts that some line of the message names the file, then `key`, and contains `says`.
#[track_caller]
fn assert_names(text: &str, key: &str, says: &[&str]) {
    let message = error_text(text);
    let line = message
        .lines()
        .find(|line| line.contains(&format!(": {key}: ")))
        .unwrap_or_else(|| panic!("no line names {key:?} in:\n{message}"));
    assert!(
        line.starts_with(ORIGIN),
        "the file is not named first: {line}"
    );
    assert!(line.contains("; "), "no fix after the problem: {line}");
    for fragment in says {
        assert!(line.contains(fragment), "{fragment:?} missing from: {line}");
    }
}

#[test_case("[sever]\nlisten = []", "sever", &["unknown key \"sever\"", "did you mean \"server\"?", "valid top-level tables are: server, tls, network, timeouts, auth, logging, metrics, pool, plugins"] ; "unknown table")]
#[test_case("frobnicate = 1", "frobnicate", &["unknown key", "remove or rename it"] ; "unknown top-level key")]
#[test_case("[network]\nipv4pool = \"10.0.0.0/8\"", "network.ipv4pool", &["did you mean \"ipv4_pool\"?", "valid keys in [network] are: tun_name, ipv4_pool"] ; "unknown nested key")]
#[test_case("[tls]\nzzzzzz = 1", "tls.zzzzzz", &["valid keys in [tls] are: min_version, cipher_list, groups"] ; "unknown key without a near match")]
#[test_case("[[auth.groups]]\nname = \"a\"\nlable = \"b\"", "auth.groups[0].lable", &["did you mean \"label\"?", "valid keys in [auth.groups] are: name, label"] ; "unknown key in array of tables")]
#[test_case("[network]\nnat = \"yes\"", "network.nat", &["string \"yes\" is the wrong type", "write true or false, e.g. nat = false"] ; "string for bool")]
#[test_case("[network]\nmtu = \"1500\"", "network.mtu", &["wrong type", "e.g. mtu = 1500"] ; "string for number")]
#[test_case("network = 5", "network", &["wrong type", "write it as a table: [network]"] ; "number for table")]
#[test_case("[server]\nlisten = \"0.0.0.0:443\"", "server.listen", &["wrong type", "e.g. listen = [\"0.0.0.0:443\"]"] ; "string for list")]
#[test_case("[tls]\nmin_version = 1.2", "tls.min_version", &["wrong type", "e.g. min_version = \"1.2\""] ; "float for version")]
#[test_case("[plugins]\nradius = 1", "plugins.radius", &["wrong type", "write a table"] ; "plugin not a table")]
#[test_case("[network]\nipv4_pool = \"192.168.1.0/33\"", "network.ipv4_pool", &["\"192.168.1.0/33\" is not an IPv4 network; write it as ADDRESS/PREFIX, e.g. \"192.168.77.0/24\""] ; "bad ipv4 cidr")]
#[test_case("[network]\nipv6_pool = \"fd00::/64x\"", "network.ipv6_pool", &["is not an IPv6 network", "or \"none\" to disable it"] ; "bad ipv6 cidr")]
#[test_case("[network]\nroutes = [\"10.0.0.0/8\", \"bogus\"]", "network.routes[1]", &["\"bogus\" is not an IP network", "ADDRESS/PREFIX"] ; "bad route")]
#[test_case("[network]\ndns = [\"8.8.8\"]", "network.dns[0]", &["\"8.8.8\" is not an IP address"] ; "bad dns")]
#[test_case("[network]\nsplit_dns = [\"a..b\"]", "network.split_dns[0]", &["not a domain name", "corp.example.com"] ; "bad split dns")]
#[test_case("[server]\nlisten = [\"0.0.0.0\"]", "server.listen[0]", &["\"0.0.0.0\" is not a socket address", "ADDRESS:PORT"] ; "bad socket addr")]
#[test_case("[server]\nlisten = [\"0.0.0.0:0\"]", "server.listen[0]", &["port 0", "usually 443"] ; "port zero")]
#[test_case("[server]\nlisten = []", "server.listen", &["no address is given", "add at least one"] ; "no listener")]
#[test_case("[network]\nmtu = 70000", "network.mtu", &["70000 is out of range", "a whole number from 0 to 65535"] ; "number overflows type")]
#[test_case("[server]\nmax_clients = -1", "server.max_clients", &["-1 is out of range"] ; "negative number")]
#[test_case("[network]\nmtu = 1000", "network.mtu", &["1000 is out of range; use a value from 1280 to 9000 bytes, e.g. mtu = 1500"] ; "mtu below range")]
#[test_case("[timeouts]\ndpd = 5", "timeouts.dpd", &["5 is out of range", "use 0 (off) or a value from 10 to 86400 seconds, e.g. dpd = 90"] ; "dpd below range")]
#[test_case("[timeouts]\ncookie_timeout = 0", "timeouts.cookie_timeout", &["from 1 to 86400"] ; "cookie timeout zero")]
#[test_case("[timeouts]\nrekey_method = \"none\"", "timeouts.rekey_method", &["Cisco Secure Client 5.1 rejects", "write \"ssl\""] ; "rekey method none")]
#[test_case("[timeouts]\nrekey_time = 0", "timeouts.rekey_time", &["Cisco Secure Client 5.1 rejects", "from 300 to"] ; "rekey time zero")]
#[test_case("[network]\ntun_name = \"wolfguard-vpn-0001\"", "network.tun_name", &["18 bytes long", "\"wgvpn0\""] ; "tun name too long")]
#[test_case("[network]\nipv4_pool = \"10.0.0.0/31\"", "network.ipv4_pool", &["prefix /31", "from /8 to /30"] ; "pool too small")]
#[test_case("[network]\nipv4_pool = \"10.1.2.3/16\"", "network.ipv4_pool", &["host bits", "\"10.1.0.0/16\""] ; "pool host bits")]
#[test_case("[network]\nipv6_pool = \"fd00::/64\"\nipv6_prefix = 48", "network.ipv6_prefix", &["/48 is shorter than the pool", "from 64 to 128"] ; "ipv6 prefix shorter than pool")]
#[test_case("[network]\nipv4_pool = \"none\"", "network.ipv4_pool", &["clients would get no address", "set at least one"] ; "no pool")]
#[test_case("[auth]\ndefault_group = \"sales\"\n[[auth.groups]]\nname = \"eng\"", "auth.default_group", &["\"sales\" is not one of the [[auth.groups]]", "use one of \"eng\""] ; "default group missing")]
#[test_case("[[auth.groups]]\nlabel = \"Engineering\"", "auth.groups[0].name", &["is required but missing", "add name = \"engineering\""] ; "group without name")]
#[test_case("[tls]\ngroups = [\"X25519\", \"ffdhe2048\"]", "tls.groups[1]", &["\"ffdhe2048\" is not a known key-exchange group", "\"X25519MLKEM768\""] ; "unknown tls group")]
#[test_case("[tls]\ncipher_list = \"HIGH:RC4-SHA\"", "tls.cipher_list", &["would enable weak ciphers (RC4)", "\"!RC4-SHA\""] ; "weak cipher")]
#[test_case("[logging]\nformat = \"xml\"", "logging.format", &["\"xml\" is not a log format", "\"json\""] ; "bad log format")]
#[test_case("[logging]\nlevel = \"wolfguard=loud\"", "logging.level", &["\"wolfguard=loud\" is not a log filter directive"] ; "bad log level")]
#[test_case("[server]\nserver_name = \"vpn\\r\\nX-Evil: 1\"", "server.server_name", &["cannot be sent as an HTTP header value"] ; "header injection in server name")]
#[test_case("", "server.certificate", &["is required but not set", "add certificate = \"/etc/wolfguard/server.crt\" under [server]"] ; "certificate missing")]
#[test_case("", "auth.password_file", &["add password_file = \"/etc/wolfguard/passwd\" under [auth]"] ; "password file missing")]
fn malformed(text: &str, key: &str, says: &[&str]) {
    assert_names(text, key, says);
}

#[test]
fn exact_message_with_position() {
    let message = error_text("[network]\nipv4_pool = \"192.168.1.0/33\"\n");
    assert_eq!(
        message,
        "/etc/wolfguard/wolfguard.toml:2:13: network.ipv4_pool: \"192.168.1.0/33\" is not an \
         IPv4 network; write it as ADDRESS/PREFIX, e.g. \"192.168.77.0/24\", or \"none\" to \
         disable it"
    );
}

#[test_case("[server\n", "1:8" ; "unclosed header")]
#[test_case("[network]\nmtu = 1500\nmtu = 1400\n", "3:1" ; "duplicate key")]
#[test_case("[network]\nnat = yes\n", "2:7" ; "bare word")]
fn syntax_errors_give_line_and_column(text: &str, at: &str) {
    let message = error_text(text);
    assert!(
        message.starts_with(&format!("{ORIGIN}:{at}: TOML syntax error: ")),
        "{message}"
    );
    assert!(message.contains("; fix the syntax there"), "{message}");
}

#[test]
fn semantic_issues_are_reported_together_with_positions() {
    let text = format!("{MINIMAL}[network]\nmtu = 100\n[timeouts]\ndpd = 1\nrekey_time = 0\n");
    let Err(err) = from_str(&text, Path::new(ORIGIN)) else {
        panic!("must fail");
    };
    let found: Vec<_> = err
        .issues()
        .iter()
        .map(|i| (i.key.as_str(), i.position.map(|p| p.line)))
        .collect();
    assert_eq!(
        found,
        [
            ("network.mtu", Some(7)),
            ("timeouts.dpd", Some(9)),
            ("timeouts.rekey_time", Some(10))
        ]
    );
    assert_eq!(err.to_string().lines().count(), 3);
}

#[test]
fn serialization_round_trips() {
    let config = everything_set();
    let text = toml::to_string(&config).expect("a Config serializes");
    let again = from_str(&text, Path::new(ORIGIN)).unwrap_or_else(|e| panic!("{e}\n{text}"));
    assert_eq!(again, config);
}

#[test]
fn ipv4_can_be_disabled_and_plugins_pass_through() {
    let text = format!(
        "{MINIMAL}[network]\nipv4_pool = \"none\"\nipv6_pool = \"fd00:77::/64\"\n\
         [plugins.auth-radius]\nload = 10\nservers = [{{ host = \"10.0.0.1\" }}]\n"
    );
    let config = from_str(&text, Path::new(ORIGIN)).unwrap();
    assert_eq!(config.network.ipv4_pool, None);
    let radius = &config.plugins["auth-radius"];
    assert_eq!(radius["load"].as_integer(), Some(10));
    assert_eq!(radius["servers"][0]["host"].as_str(), Some("10.0.0.1"));
}

#[test]
fn defaults() {
    let config = Config::default();
    assert_eq!(config.server.listen, ["0.0.0.0:443".parse().unwrap()]);
    assert_eq!(config.server.max_same_clients, 2);
    assert_eq!(config.tls.groups.len(), 3);
    assert_eq!(config.network.tun_name.as_str(), "wgvpn0");
    assert_eq!(
        config.network.ipv4_pool,
        Some("192.168.77.0/24".parse().unwrap())
    );
    assert_eq!(config.timeouts.keepalive, 32_400);
    assert_eq!(config.logging.level, "info");
}

#[test]
fn an_auth_plugin_may_replace_the_password_file() {
    let base = "[server]\ncertificate = \"/etc/wolfguard/server.crt\"\n\
                private_key = \"/etc/wolfguard/server.key\"\n";
    let err = from_str(base, Path::new(ORIGIN)).unwrap_err().to_string();
    assert!(err.contains("auth.password_file"), "{err}");
    let with_plugin =
        format!("{base}[plugins.local]\npath = \"/usr/lib/wolfguard/auth-local.so\"\n");
    let config = from_str(&with_plugin, Path::new(ORIGIN)).unwrap();
    assert!(config.auth.password_file.as_os_str().is_empty());
    let relative = format!("{base}[plugins.local]\npath = \"plugins/auth-local.so\"\n");
    let config = from_str(&relative, Path::new(ORIGIN)).unwrap();
    let dir = Path::new(ORIGIN).parent().unwrap();
    assert_eq!(
        config.plugins["local"]["path"].as_str(),
        Some(dir.join("plugins/auth-local.so").to_str().unwrap())
    );
}
