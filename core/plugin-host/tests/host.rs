//! Host tests against real plugins, built native and wasm32-wasip2 by `support/build.rs`.

#[path = "support/build.rs"]
mod support;

use std::sync::Arc;
use std::time::{Duration, Instant};

use wolfguard_plugin_api::{
    Answer, AuthFailure, AuthRequest, AuthStep, ConnectInfo, Hook, LogEvent, Packet, PacketVerdict,
    SessionInfo, Verdict,
};
use wolfguard_plugin_host::{
    FailurePolicy, HostCall, LoadError, PluginHost, PluginLoadError, PluginSpec,
};
use wolfguard_runtime::{PoolConfig, PriorityPool};

fn pool(threads: usize) -> Arc<PriorityPool> {
    Arc::new(
        PriorityPool::new(PoolConfig {
            threads,
            reserved: [1, 1, 0, 0],
            queue_depth: 2048,
        })
        .expect("pool"),
    )
}

/// A WASM spec for the fixture with every host call allowed.
fn fixture_wasm(name: &str, settings: &str) -> PluginSpec {
    let mut s = PluginSpec::wasm(name, &support::built().fixture_wasm);
    s.settings = settings.to_owned();
    s.sandbox.host_calls = vec![HostCall::Log, HostCall::Metrics, HostCall::Kv];
    s
}

fn fixture_native(name: &str, settings: &str) -> PluginSpec {
    let mut s = PluginSpec::native(name, &support::built().fixture_native);
    s.settings = settings.to_owned();
    s
}

fn req(conversation: u64, answers: &[(&str, &str)], state: &[u8]) -> AuthRequest {
    AuthRequest {
        conversation,
        peer: "192.0.2.7:40000".into(),
        group: Some("staff".into()),
        state: state.to_vec(),
        answers: answers
            .iter()
            .map(|(n, v)| Answer {
                name: (*n).into(),
                value: (*v).into(),
            })
            .collect(),
    }
}

/// Drives every hook of the fixture through `host` and returns what came back.
fn script(host: &PluginHost) -> Vec<String> {
    let mut out = Vec::new();
    let mut step = |hook, r: &AuthRequest| {
        let s = host
            .auth_blocking("fixture", hook, r)
            .expect("known plugin");
        out.push(format!("{s:?}"));
        s
    };
    step(Hook::AuthBegin, &req(1, &[], b""));
    let s = step(Hook::AuthBegin, &req(2, &[("username", "alice")], b""));
    let AuthStep::Challenge { state, .. } = s else {
        panic!("expected a challenge, got {s:?}");
    };
    step(
        Hook::AuthContinue,
        &req(2, &[("password", "alice-pw")], &state),
    );
    step(Hook::AuthContinue, &req(2, &[("password", "nope")], &state));
    step(
        Hook::AuthBegin,
        &req(3, &[("username", "bob"), ("password", "bob-pw")], b""),
    );
    for peer in ["198.51.100.1:1", "10.66.1.2:443"] {
        let info = ConnectInfo {
            peer: peer.into(),
            local: "0.0.0.0:443".into(),
            sni: Some("vpn.example.com".into()),
        };
        out.push(format!("{:?}", host.filter_connect_blocking(&info)));
    }
    for user in ["alice", "mallory"] {
        let f = AuthFailure {
            peer: "192.0.2.9:1".into(),
            user: user.into(),
            reason: "wrong password".into(),
        };
        out.push(format!("{:?}", host.filter_auth_failure_blocking(&f)));
    }
    let big = vec![0x45u8; 2000];
    let data: [&[u8]; 4] = [&[0x45, 0, 0, 20], &[0xff, 1], &big, &[]];
    let batch: Vec<Packet<'_>> = data
        .iter()
        .enumerate()
        .map(|(i, d)| Packet {
            session: i as u64,
            ingress: i % 2 == 0,
            data: d,
        })
        .collect();
    let mut verdicts = Vec::new();
    host.filter_packets(&batch, &mut verdicts);
    out.push(format!("{verdicts:?}"));
    for user in ["alice", "night-owl"] {
        out.push(format!(
            "{:?}",
            host.filter_session_blocking(&session(user))
        ));
    }
    host.publish(&LogEvent {
        kind: "session-up".into(),
        session: Some(4),
        fields: vec![("user".into(), "alice".into())],
    });
    out.push(format!("{:?}", host.listeners()));
    out.push(format!("{:?}", host.plugins()[0].manifest));
    let calls = host.kv_get("fixture", "calls").unwrap_or_default();
    out.push(String::from_utf8(calls).expect("calls are text"));
    out.push(format!("{:?}", host.counters("fixture")));
    out
}

#[test]
fn the_same_source_gives_identical_results_native_and_wasm() {
    let native = PluginHost::load(vec![fixture_native("fixture", "")], pool(4)).unwrap();
    let wasm = PluginHost::load(vec![fixture_wasm("fixture", "")], pool(4)).unwrap();
    let (n, w) = (script(&native), script(&wasm));
    assert_eq!(n.len(), w.len());
    for (a, b) in n.iter().zip(&w) {
        assert_eq!(a, b);
    }
    // Spot-check that the script exercised real verdicts, not only defaults.
    assert!(n[2].starts_with("Accept"), "{}", n[2]);
    assert!(n[3].contains("wrong password"), "{}", n[3]);
    assert!(n[6].contains("banned network"), "{}", n[6]);
    assert_eq!(n[8], "Drop");
    assert_eq!(n[9], "[Accept, Drop, Reject, Accept]");
    assert_eq!(n[10], "Accept");
    assert!(n[11].contains("outside hours"), "{}", n[11]);
    assert!(n[14].contains("log-event session-up"), "{}", n[14]);
    assert!(n[14].contains("filter-session night-owl"), "{}", n[14]);
}

#[test]
fn loop_oom_and_trap_are_contained_while_other_logins_proceed() {
    let mut spec = fixture_wasm("fixture", "misbehave = true\nrecord = false");
    spec.sandbox.timeout_ms = 50;
    spec.sandbox.max_memory_pages = 160; // 10 MiB
    let host = PluginHost::load(vec![spec], pool(4)).unwrap();
    let started = Instant::now();
    let mut bad = Vec::new();
    for (i, user) in ["loop", "oom", "trap"].into_iter().enumerate() {
        let r = req(i as u64, &[("username", user), ("password", "x")], b"");
        bad.push((user, host.auth_begin("fixture", r).unwrap()));
    }
    let good: Vec<_> = (0..50)
        .map(|i| {
            let user = format!("user{i}");
            let pw = format!("{user}-pw");
            let r = req(100 + i, &[("username", &user), ("password", &pw)], b"");
            host.auth_begin("fixture", r).unwrap()
        })
        .collect();
    for g in good {
        let step = g.wait().unwrap();
        assert!(matches!(step, AuthStep::Accept { .. }), "{step:?}");
    }
    let expect = [
        ("loop", "exceeded its time limit"),
        ("oom", "exceeded its memory limit"),
        ("trap", "trapped"),
    ];
    for ((user, handle), (_, why)) in bad.into_iter().zip(expect) {
        let step = handle.wait().unwrap();
        let AuthStep::Reject { reason } = &step else {
            panic!("{user}: expected a fail-closed rejection, got {step:?}");
        };
        assert!(reason.contains(why), "{user}: {reason}");
    }
    let stats = host.stats("fixture").unwrap();
    assert_eq!(
        (stats.timeouts, stats.out_of_memory, stats.traps),
        (1, 1, 1),
        "{stats:?}"
    );
    // The loop was cut at its deadline, not left running.
    assert!(started.elapsed() < Duration::from_secs(10));
    // The plugin still serves after all three.
    let r = req(9, &[("username", "zed"), ("password", "zed-pw")], b"");
    let step = host.auth_begin("fixture", r).unwrap().wait().unwrap();
    assert!(matches!(step, AuthStep::Accept { .. }), "{step:?}");
}

#[test]
fn failure_policy_decides_filters_and_denied_host_calls_trap() {
    // The fixture records through kv/metrics; without those capabilities each hook traps.
    let mut open = fixture_wasm("open", "");
    open.sandbox.host_calls = vec![HostCall::Log];
    open.failure_policy = FailurePolicy::FailOpen;
    let mut closed = open.clone();
    closed.name = "closed".into();
    closed.failure_policy = FailurePolicy::FailClosed;
    let info = ConnectInfo {
        peer: "198.51.100.1:1".into(),
        ..ConnectInfo::default()
    };
    let host = PluginHost::load(vec![open.clone()], pool(4)).unwrap();
    assert_eq!(host.filter_connect_blocking(&info), Verdict::Accept);
    let data: &[u8] = &[0x45];
    let batch = [Packet {
        session: 1,
        ingress: true,
        data,
    }];
    let mut v = Vec::new();
    host.filter_packets(&batch, &mut v);
    assert_eq!(v, [PacketVerdict::Accept]);
    assert!(host.stats("open").unwrap().traps >= 1);

    let host = PluginHost::load(vec![closed], pool(4)).unwrap();
    let verdict = host.filter_connect_blocking(&info);
    assert!(
        matches!(&verdict, Verdict::Reject(r) if r.contains("no capability")),
        "{verdict:?}"
    );
    host.filter_packets(&batch, &mut v);
    assert_eq!(v, [PacketVerdict::Drop]);
}

#[test]
fn an_incompatible_native_plugin_is_refused_naming_both_versions() {
    let mut spec = PluginSpec::native("future", &support::built().old_major_2);
    spec.critical = true;
    let err = PluginHost::load(vec![spec.clone()], pool(4)).unwrap_err();
    let msg = err.to_string();
    let LoadError::Critical { source, .. } = &err else {
        panic!("expected a critical load error, got {err}");
    };
    let detail = source.to_string();
    assert!(
        matches!(**source, PluginLoadError::IncompatibleAbi { .. }),
        "{detail}"
    );
    assert!(
        detail.contains("contract 2.0") && detail.contains("implements 1.1"),
        "{msg}: {detail}"
    );

    // Not critical: reported and skipped, the other plugins load.
    spec.critical = false;
    let host = PluginHost::load(vec![spec, fixture_native("fixture", "")], pool(4)).unwrap();
    assert_eq!(host.skipped().len(), 1);
    assert_eq!(host.plugins().len(), 1);
}

fn session(user: &str) -> SessionInfo {
    SessionInfo {
        session: 9,
        user: user.into(),
        groups: vec!["staff".into()],
        peer: "192.0.2.7:50000".into(),
        addresses: vec!["10.10.0.9".into()],
    }
}

#[test]
fn a_plugin_built_against_a_newer_minor_loads_and_its_extra_hook_is_ignored() {
    let mut spec = PluginSpec::native("newer", &support::built().new_v1_2);
    spec.critical = true;
    let host = match PluginHost::load(vec![spec], pool(4)) {
        Ok(h) => h,
        Err(e) => panic!(
            "{e}: {:?}",
            std::error::Error::source(&e).map(|s| s.to_string())
        ),
    };
    let r = req(1, &[("username", "old"), ("password", "old-pw")], b"");
    let step = host.auth_blocking("newer", Hook::AuthBegin, &r).unwrap();
    assert!(matches!(step, AuthStep::Accept { .. }), "{step:?}");
    assert_eq!(host.counters("newer").unwrap().get("auth"), Some(&1));
    // The 1.1 extension hook it shares with the host works; its `future-hook` is not in the
    // host's manifest view at all.
    let manifest = &host.plugins()[0].manifest;
    assert!(
        manifest.hooks.contains(&Hook::FilterSession),
        "{manifest:?}"
    );
    assert_eq!(
        host.filter_session_blocking(&session("mallory")),
        Verdict::Reject("1.2 plugin says no".into())
    );
    assert_eq!(
        host.filter_session_blocking(&session("bob")),
        Verdict::Accept
    );
}

#[test]
fn a_plugin_built_against_the_older_minor_1_0_loads_and_lacks_only_the_newer_hook() {
    // The reason the root module is frozen at 1.0: a 1.0 plugin must load in a 1.1 host.
    let mut spec = PluginSpec::native("old", &support::built().old_v1_0);
    spec.critical = true;
    spec.failure_policy = wolfguard_plugin_host::FailurePolicy::FailClosed;
    let host = match PluginHost::load(vec![spec], pool(4)) {
        Ok(h) => h,
        Err(e) => panic!(
            "{e}: {:?}",
            std::error::Error::source(&e).map(|s| s.to_string())
        ),
    };
    assert!(host.skipped().is_empty());
    let r = req(1, &[("username", "old"), ("password", "old-pw")], b"");
    let step = host.auth_blocking("old", Hook::AuthBegin, &r).unwrap();
    assert!(matches!(step, AuthStep::Accept { .. }), "{step:?}");
    let failure = AuthFailure {
        peer: "192.0.2.7:1".into(),
        user: "mallory".into(),
        reason: "bad password".into(),
    };
    assert_eq!(host.filter_auth_failure_blocking(&failure), Verdict::Drop);
    // It cannot declare `filter-session` (its contract predates it), so the chain skips it:
    // no failure counted, even under fail-closed.
    assert!(
        !host.plugins()[0]
            .manifest
            .hooks
            .contains(&Hook::FilterSession)
    );
    assert_eq!(
        host.filter_session_blocking(&session("mallory")),
        Verdict::Accept
    );
    assert_eq!(host.stats("old").unwrap().failures, 0);
}

#[test]
fn a_thousand_concurrent_conversations_through_a_wasm_auth_plugin() {
    let host = PluginHost::load(vec![fixture_wasm("fixture", "record = false")], pool(4)).unwrap();
    let started = Instant::now();
    let begins: Vec<_> = (0..1000u64)
        .map(|i| {
            let r = req(i, &[("username", &format!("u{i}"))], b"");
            host.auth_begin("fixture", r).unwrap()
        })
        .collect();
    let continues: Vec<_> = begins
        .into_iter()
        .enumerate()
        .map(|(i, h)| {
            let AuthStep::Challenge { state, .. } = h.wait().unwrap() else {
                panic!("expected a challenge");
            };
            let r = req(i as u64, &[("password", &format!("u{i}-pw"))], &state);
            host.auth_continue("fixture", r).unwrap()
        })
        .collect();
    for (i, h) in continues.into_iter().enumerate() {
        match h.wait().unwrap() {
            AuthStep::Accept { user, .. } => assert_eq!(user, format!("u{i}")),
            other => panic!("conversation {i}: {other:?}"),
        }
    }
    let elapsed = started.elapsed();
    eprintln!("1000 conversations (2000 WASM auth calls) in {elapsed:?}");
    assert_eq!(host.stats("fixture").unwrap().failures, 0);
}

#[test]
fn hot_reload_swaps_the_component_and_keeps_the_old_one_on_error() {
    let dir = std::env::temp_dir().join(format!("wg-reload-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let path = dir.join("fixture.wasm");
    std::fs::copy(&support::built().fixture_wasm, &path).unwrap();
    let mut spec = fixture_wasm("fixture", "misbehave = true\nrecord = false");
    spec.path = path.clone();
    spec.sandbox.timeout_ms = 300;
    let host = PluginHost::load(vec![spec], pool(4)).unwrap();
    let ok = |host: &PluginHost| {
        let r = req(1, &[("username", "a"), ("password", "a-pw")], b"");
        let s = host.auth_begin("fixture", r).unwrap().wait().unwrap();
        assert!(matches!(s, AuthStep::Accept { .. }), "{s:?}");
    };
    ok(&host);
    // A call in flight (spinning until its deadline) while the reload happens.
    let r = req(2, &[("username", "loop"), ("password", "x")], b"");
    let in_flight = host.auth_begin("fixture", r).unwrap();
    std::thread::sleep(Duration::from_millis(50));
    host.reload("fixture").unwrap();
    ok(&host);
    let s = in_flight.wait().unwrap();
    assert!(
        matches!(&s, AuthStep::Reject { reason } if reason.contains("time limit")),
        "{s:?}"
    );
    // A broken file is refused and the running code stays.
    std::fs::write(&path, b"not a component").unwrap();
    assert!(matches!(
        host.reload("fixture"),
        Err(PluginLoadError::Wasm { .. })
    ));
    ok(&host);
    assert!(matches!(
        host.reload("native-nope"),
        Err(PluginLoadError::Unknown(_))
    ));
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn auth_local_and_log_json_work_as_native_plugins_through_the_bus() {
    let dir = std::env::temp_dir().join(format!("wg-native-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let passwd = dir.join("passwd");
    // `openssl passwd -5 -salt saltsalt secret`
    std::fs::write(
        &passwd,
        "alice:eng:$5$saltsalt$0IyaXrmV7.sGNS6tirgqHLqX/G.FBvgkYA.lpPdS5sA\n",
    )
    .unwrap();
    let log = dir.join("events.jsonl");
    let mut auth = PluginSpec::native("auth-local", &support::built().auth_local);
    auth.settings = format!("path = {:?}", passwd.display().to_string());
    auth.critical = true;
    let mut logger = PluginSpec::native("log-json", &support::built().log_json);
    logger.settings = format!("path = {:?}", log.display().to_string());
    let host = PluginHost::load(vec![auth, logger], pool(4)).unwrap();
    assert_eq!(host.auth_plugins(), ["auth-local"]);
    let r = req(1, &[("username", "alice"), ("password", "secret")], b"");
    let mut r_group = r.clone();
    r_group.group = Some("eng".into());
    let step = host
        .auth_begin("auth-local", r_group)
        .unwrap()
        .wait()
        .unwrap();
    assert!(
        matches!(&step, AuthStep::Accept { groups, .. } if groups == &["eng"]),
        "{step:?}"
    );
    let mut wrong = r;
    wrong.answers[1].value = "Secret".into();
    wrong.group = None;
    let step = host
        .auth_begin("auth-local", wrong)
        .unwrap()
        .wait()
        .unwrap();
    assert_eq!(step, AuthStep::reject("wrong password"));

    let bus = wolfguard_runtime::EventBus::new();
    let subs = host.subscribe(&bus);
    assert_eq!(subs.len(), 1);
    bus.publish(wolfguard_runtime::Event::AuthResult {
        user: "alice".into(),
        peer: "192.0.2.1:1".parse().unwrap(),
        ok: true,
        reason: None,
    });
    let deadline = Instant::now() + Duration::from_secs(5);
    let text = loop {
        let text = std::fs::read_to_string(&log).unwrap_or_default();
        if !text.is_empty() || Instant::now() > deadline {
            break text;
        }
        std::thread::sleep(Duration::from_millis(10));
    };
    assert!(text.contains("\"kind\":\"auth-result\""), "{text}");
    assert!(text.contains("\"user\":\"alice\""), "{text}");
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn a_wasm_plugin_reads_only_the_directories_its_sandbox_grants() {
    let dir = std::env::temp_dir().join(format!("wg-wasm-files-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let passwd = dir.join("passwd");
    // `openssl passwd -1 -salt saltsalt secret`
    std::fs::write(&passwd, "carol::$1$saltsalt$9xy1btjgzLYfb7hivXtC//\n").unwrap();
    let mut spec = PluginSpec::wasm("auth-local", &support::built().auth_local_wasm);
    spec.settings = format!("path = {:?}", passwd.display().to_string());
    spec.sandbox.host_calls = vec![HostCall::Log, HostCall::Metrics];

    // No file grant: the plugin cannot open its password file and is skipped.
    let host = PluginHost::load(vec![spec.clone()], pool(4)).unwrap();
    assert!(host.plugins().is_empty());
    let err = host.skipped()[0].error.to_string();
    assert!(err.contains("cannot read the password file"), "{err}");

    spec.sandbox.files = vec![dir.clone()];
    let host = PluginHost::load(vec![spec], pool(4)).unwrap();
    let r = req(1, &[("username", "carol"), ("password", "secret")], b"");
    let step = host.auth_begin("auth-local", r).unwrap().wait().unwrap();
    assert!(
        matches!(&step, AuthStep::Accept { user, .. } if user == "carol"),
        "{step:?}"
    );
    let _ = std::fs::remove_dir_all(&dir);
}

#[test]
fn public_types_are_send_and_sync() {
    fn check<T: Send + Sync>() {}
    check::<PluginHost>();
    check::<PluginSpec>();
    check::<wolfguard_plugin_host::PluginInfo>();
    check::<wolfguard_plugin_host::SkippedPlugin>();
    check::<LoadError>();
    check::<PluginLoadError>();
    check::<wolfguard_plugin_host::CallError>();
    check::<wolfguard_plugin_host::HostError>();
    check::<AuthRequest>();
    check::<AuthStep>();
    check::<LogEvent>();
    check::<Verdict>();
    check::<Packet<'static>>();
}

#[test]
fn fuel_bounds_a_call_when_configured() {
    let mut spec = fixture_wasm("fixture", "misbehave = true\nrecord = false");
    spec.sandbox.fuel = Some(50_000_000);
    spec.sandbox.timeout_ms = 10_000; // the fuel, not the deadline, must stop the loop
    let host = PluginHost::load(vec![spec], pool(4)).unwrap();
    let r = req(1, &[("username", "loop"), ("password", "x")], b"");
    let step = host.auth_blocking("fixture", Hook::AuthBegin, &r).unwrap();
    assert!(
        matches!(&step, AuthStep::Reject { reason } if reason.contains("out of fuel")),
        "{step:?}"
    );
    let r = req(2, &[("username", "a"), ("password", "a-pw")], b"");
    let step = host.auth_blocking("fixture", Hook::AuthBegin, &r).unwrap();
    assert!(matches!(step, AuthStep::Accept { .. }), "{step:?}");
    assert_eq!(host.stats("fixture").unwrap().timeouts, 1);
}
