//! Logins through auth plugins loaded by the daemon, with the real openconnect client: the
//! shipped `auth-local` plugin (ocpasswd file) as a native cdylib and as a WASM component, and
//! the `log-json` plugin recording the event bus. The plugins are built by this test (native,
//! and for `wasm32-wasip2`) with the same cargo and target directory.

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;
use std::time::Duration;

use wolfguard_interop::{Lab, LabOptions, wait_for};

struct Built {
    auth_local: PathBuf,
    auth_local_wasm: PathBuf,
    log_json: PathBuf,
}

fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("..")
}

fn cargo(args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let st = Command::new(&cargo)
        .args(args)
        .current_dir(workspace())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    assert!(st.success(), "cargo {} failed", args.join(" "));
}

fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        cargo(&[
            "build",
            "-p",
            "wolfguard-plugin-auth-local",
            "-p",
            "wolfguard-plugin-log-json",
        ]);
        cargo(&[
            "build",
            "-p",
            "wolfguard-plugin-auth-local",
            "--target",
            "wasm32-wasip2",
        ]);
        let t = std::env::var_os("CARGO_TARGET_DIR")
            .map_or_else(|| workspace().join("target"), PathBuf::from);
        let b = Built {
            auth_local: t.join("debug/libwolfguard_plugin_auth_local.so"),
            auth_local_wasm: t.join("wasm32-wasip2/debug/wolfguard_plugin_auth_local.wasm"),
            log_json: t.join("debug/libwolfguard_plugin_log_json.so"),
        };
        for p in [&b.auth_local, &b.auth_local_wasm, &b.log_json] {
            assert!(p.exists(), "{} was not built", p.display());
        }
        b
    })
}

/// A password file of its own (not the lab's), so only the plugin can know `plug`.
fn passwd_dir(tag: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("wg-plugins-{tag}-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let out = Command::new("openssl")
        .args(["passwd", "-6", "plug-secret"])
        .output()
        .unwrap();
    let hash = String::from_utf8(out.stdout).unwrap();
    std::fs::write(dir.join("passwd"), format!("plug:staff:{}\n", hash.trim())).unwrap();
    dir
}

fn login_through(name: &'static str, table: String, dir: &Path) {
    let mut lab = Lab::start(
        name,
        LabOptions {
            config: vec![
                ("plugins.audit", audit_table(dir)),
                (name_table(name), table),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        lab.server_log()
            .contains("passwords are checked by an auth plugin"),
        "{}",
        lab.server_log()
    );
    // A lab user the password file of the lab knows, but the plugin's file does not.
    let refused = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    let mut refused = refused;
    assert!(refused.wait_up(Duration::from_secs(8)).is_err());
    let mut c = lab.openconnect(0, "plug", "plug-secret", &[]).unwrap();
    c.wait_up(Duration::from_secs(20)).unwrap();
    assert!(
        lab.exec(&c.ns, "ping -c 3 -i 0.2 -W 2 192.168.77.1")
            .status
            .success()
    );
    c.signal("INT");
    c.wait_exit(Duration::from_secs(10));
    // log-json saw the event bus: the rejected and the accepted login, the session going up
    // and down.
    let log = dir.join("events.jsonl");
    let text = wait_for(Duration::from_secs(5), || {
        let t = std::fs::read_to_string(&log).ok()?;
        t.contains("session-down").then_some(t)
    })
    .unwrap_or_else(|| panic!("no session-down in {}", log.display()));
    assert!(
        text.contains("auth-result") && text.contains("session-up"),
        "{text}"
    );
    assert!(text.contains("\"plug\""), "{text}");
    for line in text.lines() {
        serde_json::from_str::<serde_json::Value>(line)
            .unwrap_or_else(|e| panic!("not JSON: {line}: {e}"));
    }
}

/// Builds the SDK's example `name` (natively, or for `target`) and returns its artifact.
fn sdk_example(name: &str, target: Option<&str>) -> PathBuf {
    let mut args = vec!["build", "-p", "wolfguard-sdk", "--example", name];
    args.extend(target.iter().flat_map(|t| ["--target", *t]));
    cargo(&args);
    let t = std::env::var_os("CARGO_TARGET_DIR")
        .map_or_else(|| workspace().join("target"), PathBuf::from);
    let path = match target {
        Some(target) => t.join(format!("{target}/debug/examples/{name}.wasm")),
        None => t.join(format!("debug/examples/lib{name}.so")),
    };
    assert!(path.exists(), "{} was not built", path.display());
    path
}

fn name_table(name: &'static str) -> &'static str {
    match name {
        "plugnative" => "plugins.local",
        _ => "plugins.localwasm",
    }
}

fn audit_table(dir: &Path) -> String {
    format!(
        "path = {:?}\nkind = \"native\"\nsettings = {{ path = {:?} }}\n",
        built().log_json.display().to_string(),
        dir.join("events.jsonl").display().to_string()
    )
}

#[test]
fn openconnect_logs_in_through_auth_local_loaded_as_a_native_plugin() {
    let dir = passwd_dir("native");
    let table = format!(
        "path = {:?}\nkind = \"native\"\ncritical = true\nsettings = {{ path = {:?} }}\n",
        built().auth_local.display().to_string(),
        dir.join("passwd").display().to_string()
    );
    login_through("plugnative", table, &dir);
}

#[test]
fn openconnect_logs_in_through_auth_local_built_as_a_wasm_component() {
    let dir = passwd_dir("wasm");
    let table = format!(
        "path = {:?}\nkind = \"wasm\"\ncritical = true\nsettings = {{ path = {:?} }}\n\
         sandbox = {{ files = [{:?}], host_calls = [\"log\", \"metrics\"], timeout_ms = 2000 }}\n",
        built().auth_local_wasm.display().to_string(),
        dir.join("passwd").display().to_string(),
        dir.display().to_string()
    );
    login_through("plugwasm", table, &dir);
}

#[test]
fn a_critical_plugin_that_cannot_load_stops_start_up_with_its_name() {
    let dir = passwd_dir("broken");
    let table = format!(
        "path = {:?}\nkind = \"native\"\ncritical = true\nsettings = {{ path = \"/nonexistent\" }}\n",
        dir.join("missing.so").display().to_string()
    );
    let err = Lab::start(
        "plugbroken",
        LabOptions {
            config: vec![("plugins.local", table)],
            ..Default::default()
        },
    )
    .err()
    .expect("start-up must fail");
    let text = format!("{err:#}");
    assert!(text.contains("local"), "{text}");
}

/// Filter plugins in the daemon, with the SDK's example filter loaded natively: its connect
/// filter refuses a client network before TLS, and its packet filter (`ipv4_only`) drops IPv6
/// in the data path while IPv4 flows. The counter shows on the metrics endpoint.
#[test]
fn a_filter_plugin_refuses_connects_and_drops_packets_in_the_data_path() {
    let so = sdk_example("filter", None);
    let mut lab = Lab::start(
        "plugfilter",
        LabOptions {
            clients: 3,
            config: vec![
                ("network", "ipv6_pool = \"fd00:77::/48\"\n".into()),
                // The plugin calls run on the pool; its size and reservations come from here.
                ("pool", "threads = 6\nreserved_low = 2\n".into()),
                (
                    "plugins.filter",
                    format!(
                        "path = {:?}\ncritical = true\nfailure_policy = \"fail-closed\"\n\
                         settings = {{ deny = [\"10.99.1.\"], ipv4_only = true, \
                         deny_users = [\"carol\"], reject_to = [\"192.168.77.250\"] }}\n",
                        so.display().to_string()
                    ),
                ),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    // Client 1 (10.99.1.2) is on the deny list: refused before TLS.
    let mut refused = lab.openconnect(1, "bob", "bob-secret", &[]).unwrap();
    assert!(refused.wait_up(Duration::from_secs(8)).is_err());
    assert!(
        !lab.events("connection refused by a filter plugin")
            .is_empty(),
        "{}",
        lab.server_log()
    );
    // Client 0 gets in; IPv4 flows, IPv6 is dropped by the packet filter.
    let mut c = lab.openconnect(0, "alice", "alice-secret", &[]).unwrap();
    c.wait_up(Duration::from_secs(20)).unwrap();
    let ns = c.ns.clone();
    assert!(
        lab.exec(&ns, "ping -c 3 -i 0.2 -W 2 192.168.77.1")
            .status
            .success()
    );
    assert!(
        c.env().contains_key("INTERNAL_IP6_ADDRESS"),
        "the client got IPv6"
    );
    assert!(
        !lab.exec(&ns, "ping -6 -c 3 -i 0.2 -W 1 fd00:77::1")
            .status
            .success(),
        "IPv6 must be dropped by the filter"
    );
    // A rejected destination is answered with ICMP "administratively prohibited", which ping
    // reports as "Packet filtered", instead of timing out.
    let out = lab.exec(&ns, "ping -c 2 -i 0.3 -W 2 192.168.77.250");
    let text = String::from_utf8_lossy(&out.stdout);
    assert!(text.contains("Packet filtered"), "{text}");
    let m = lab.metrics();
    assert!(
        m.get("wolfguard_filtered_packets_total")
            .copied()
            .unwrap_or(0.0)
            >= 5.0,
        "{m:?}"
    );
    assert_eq!(m.get("wolfguard_pool_threads"), Some(&6.0), "{m:?}");
    assert_eq!(
        m.get("wolfguard_pool_reserved_threads{class=\"low\"}"),
        Some(&2.0),
        "{m:?}"
    );
    let started = |class: &str| {
        m.get(&format!(
            "wolfguard_pool_started_total{{class=\"{class}\"}}"
        ))
        .copied()
        .unwrap_or(0.0)
    };
    // Filter calls run in the medium class (so far: two connect filters and one session
    // filter), logins through the auth-local plugin in the low class, never in high.
    assert!(started("medium") >= 3.0, "{m:?}");
    assert!(started("low") >= 1.0, "{m:?}");
    assert_eq!(started("high"), 0.0, "{m:?}");
    assert!(
        m.get("wolfguard_icmp_rejects_total")
            .copied()
            .unwrap_or(0.0)
            >= 2.0,
        "{m:?}"
    );
    // Bulk traffic passes through the filters in batches, both ways (iperf3 over TCP exits 0
    // only when everything was acknowledged; its receiver tally closes a moment early).
    lab.start_iperf_server().unwrap();
    for reverse in [false, true] {
        let r = lab.iperf(&ns, reverse, 100).unwrap();
        let sent = r["end"]["sum_sent"]["bytes"].as_f64().unwrap_or(0.0);
        let received = r["end"]["sum_received"]["bytes"].as_f64().unwrap_or(0.0);
        assert!(sent >= 100.0 * 1024.0 * 1024.0, "{r}");
        assert!(
            received >= sent * 0.9,
            "reverse={reverse}: {received} of {sent}"
        );
    }
    // carol authenticates, but the session filter refuses her tunnel at CONNECT (403), and
    // her cookie is gone with it.
    let mut carol = lab.openconnect(2, "carol", "carol-secret", &[]).unwrap();
    assert!(carol.wait_up(Duration::from_secs(8)).is_err());
    assert!(
        !lab.events("session refused by a filter plugin").is_empty(),
        "{}",
        lab.server_log()
    );
    assert!(carol.log_text().contains("403"), "{}", carol.log_text());
}

#[test]
fn a_two_step_login_asks_the_plugins_follow_up_question() {
    // The SDK's example auth plugin answers the login form with a challenge ("Code:"); the
    // daemon sends a second form (`secondary_password`, as ocserv names follow-up fields), and
    // openconnect fills it from --form-entry.
    let so = sdk_example("auth", None);
    let mut lab = Lab::start(
        "plug2step",
        LabOptions {
            clients: 2,
            config: vec![(
                "plugins.codes",
                format!(
                    "path = {:?}\ncritical = true\nsettings = {{ users = {{ alice = \"314159\" }} }}\n",
                    so.display().to_string()
                ),
            )],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab
        .openconnect(
            0,
            "alice",
            "unused",
            &["--form-entry", "main:secondary_password=314159"],
        )
        .unwrap();
    c.wait_up(Duration::from_secs(20)).unwrap();
    assert!(
        lab.exec(&c.ns, "ping -c 2 -i 0.2 -W 2 192.168.77.1")
            .status
            .success()
    );
    assert!(
        !lab.events("backend asked a follow-up question").is_empty(),
        "{}",
        lab.server_log()
    );
    // A wrong code is refused.
    let mut wrong = lab
        .openconnect(
            1,
            "alice",
            "unused",
            &["--form-entry", "main:secondary_password=000000"],
        )
        .unwrap();
    assert!(wrong.wait_up(Duration::from_secs(8)).is_err());
    assert!(
        lab.events("authentication failed")
            .iter()
            .any(|e| e.get("reason").and_then(|r| r.as_str()) == Some("wrong code")),
        "{}",
        lab.server_log()
    );
}

#[test]
fn sighup_hot_reloads_a_wasm_plugin_and_keeps_the_old_code_when_the_new_file_is_broken() {
    // The SDK's example auth plugin, built for wasm32-wasip2, is the "new version" swapped in
    // for auth-local: after the reload the same user needs a one-time code instead of a password.
    let codes = sdk_example("auth", Some("wasm32-wasip2"));
    let dir = passwd_dir("reload");
    let plugin = dir.join("auth.wasm");
    std::fs::copy(&built().auth_local_wasm, &plugin).unwrap();
    let table = format!(
        "path = {:?}\nkind = \"wasm\"\ncritical = true\n\
         settings = {{ path = {:?}, users = {{ plug = \"271828\" }} }}\n\
         sandbox = {{ files = [{:?}], host_calls = [\"log\", \"metrics\"], timeout_ms = 2000 }}\n",
        plugin.display().to_string(),
        dir.join("passwd").display().to_string(),
        dir.display().to_string()
    );
    let mut lab = Lab::start(
        "plugreload",
        LabOptions {
            clients: 3,
            config: vec![("plugins.hot", table), ("plugins.audit", audit_table(&dir))],
            ..Default::default()
        },
    )
    .unwrap();
    let login = |lab: &mut Lab, i: usize, extra: &[&str]| {
        let mut c = lab.openconnect(i, "plug", "plug-secret", extra).unwrap();
        let up = c.wait_up(Duration::from_secs(15)).is_ok();
        c.signal("INT");
        c.wait_exit(Duration::from_secs(10));
        up
    };
    assert!(login(&mut lab, 0, &[]), "{}", lab.server_log());

    // A file that is not a component: the reload is refused, the old code keeps serving.
    std::fs::write(&plugin, b"\0asm garbage").unwrap();
    lab.signal_server("HUP");
    wait_for(Duration::from_secs(10), || {
        (!lab
            .events("plugin reload refused; the old code stays in service")
            .is_empty())
        .then_some(())
    })
    .unwrap_or_else(|| panic!("no refusal logged: {}", lab.server_log()));
    assert!(login(&mut lab, 1, &[]), "{}", lab.server_log());

    // The new version: swapped in without a restart.
    std::fs::copy(&codes, &plugin).unwrap();
    lab.signal_server("HUP");
    wait_for(Duration::from_secs(20), || {
        lab.events("plugins reloaded")
            .iter()
            .any(|e| {
                e.get("applied")
                    .and_then(|a| a.as_str())
                    .is_some_and(|a| a.contains("plugins.hot"))
            })
            .then_some(())
    })
    .unwrap_or_else(|| panic!("no reload logged: {}", lab.server_log()));
    assert!(lab.server_alive());
    assert!(
        !login(&mut lab, 2, &[]),
        "the password alone must no longer do"
    );
    assert!(
        login(
            &mut lab,
            2,
            &["--form-entry", "main:secondary_password=271828"]
        ),
        "{}",
        lab.server_log()
    );
    let events = std::fs::read_to_string(dir.join("events.jsonl")).unwrap_or_default();
    assert!(events.contains("config-reloaded"), "{events}");
}

#[test]
fn a_transport_plugin_adds_a_front_end_listener_that_serves_logins() {
    // The SDK's example transport plugin asks for one extra `tcp` listener; the daemon serves
    // the VPN front end there too (without DTLS, whose UDP sockets stay on server.listen).
    // The login itself uses the lab's default auth.password_file, which the daemon serves by
    // loading the auth-local plugin from next to its binary.
    built();
    let so = sdk_example("transport", None);
    let mut lab = Lab::start(
        "plugtransport",
        LabOptions {
            config: vec![(
                "plugins.extra",
                format!(
                    "path = {:?}\ncritical = true\nsettings = {{ bind = \"10.99.0.1:8443\" }}\n",
                    so.display().to_string()
                ),
            )],
            ..Default::default()
        },
    )
    .unwrap();
    assert!(
        !lab.events("listening (TCP, from a transport plugin)")
            .is_empty(),
        "{}",
        lab.server_log()
    );
    assert!(
        lab.events("passwords are checked by an auth plugin")
            .iter()
            .any(|e| e.get("plugin").and_then(|p| p.as_str()) == Some("password-file")),
        "auth.password_file must be served by the auth-local plugin: {}",
        lab.server_log()
    );
    let mut c = lab
        .openconnect_url(0, "alice", "alice-secret", "https://10.99.0.1:8443/", &[])
        .unwrap();
    c.wait_up(Duration::from_secs(20)).unwrap();
    assert!(
        lab.exec(&c.ns, "ping -c 2 -i 0.2 -W 2 192.168.77.1")
            .status
            .success()
    );
    // openconnect -v prints the CONNECT response's headers: no X-DTLS-* offer on this port.
    let log = c.log_text();
    assert!(
        !log.contains("X-DTLS-") && log.contains("No DTLS address"),
        "no DTLS on a plugin listener: {log}"
    );
}

#[test]
fn a_logging_plugin_sees_dtls_up_then_dtls_down_and_dpd_timeout_of_a_vanished_client() {
    let dir = passwd_dir("dpd");
    let mut lab = Lab::start(
        "plugdpd",
        LabOptions {
            config: vec![
                ("timeouts", "dpd = 10\ncookie_timeout = 5\n".into()),
                ("plugins.audit", audit_table(&dir)),
            ],
            ..Default::default()
        },
    )
    .unwrap();
    let mut c = lab
        .openconnect_dtls(0, "alice", "alice-secret", &[])
        .unwrap();
    c.wait_up(Duration::from_secs(20)).unwrap();
    let log = dir.join("events.jsonl");
    wait_for(Duration::from_secs(10), || {
        let t = std::fs::read_to_string(&log).ok()?;
        t.contains("dtls-up").then_some(())
    })
    .unwrap_or_else(|| panic!("no dtls-up: {}", c.log_text()));
    // Black-hole the client, then kill it: only dead-peer detection can end the tunnel.
    lab.exec_ok(
        &c.ns.clone(),
        "nft add table inet blackhole
         nft add chain inet blackhole out '{ type filter hook output priority 0; policy drop; }'
         nft add chain inet blackhole in '{ type filter hook input priority 0; policy drop; }'",
    )
    .unwrap();
    c.signal("KILL");
    c.wait_exit(Duration::from_secs(5));
    let text = wait_for(Duration::from_secs(60), || {
        let t = std::fs::read_to_string(&log).ok()?;
        t.contains("session-down").then_some(t)
    })
    .unwrap_or_else(|| panic!("no session-down: {}", lab.server_log()));
    let kinds: Vec<String> = text
        .lines()
        .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
        .filter_map(|v| v["kind"].as_str().map(str::to_owned))
        .collect();
    let at = |k: &str| {
        kinds
            .iter()
            .position(|x| x == k)
            .unwrap_or_else(|| panic!("no {k} in {kinds:?}"))
    };
    assert!(at("dtls-up") < at("dtls-down"), "{kinds:?}");
    assert!(at("dtls-down") < at("session-down"), "{kinds:?}");
    assert!(at("dpd-timeout") < at("session-down"), "{kinds:?}");
}
