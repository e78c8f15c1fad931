//! Per-call cost of plugin hooks, native vs WASM, on the fixture plugin (same source both ways):
//!
//! - `auth_begin`: one auth hook call on the calling thread (no pool hop), a full
//!   username + password step answered with `Accept`;
//! - `filter_packets/64` and `filter_packets/1`: one data-path filter call on a batch of 64
//!   packets of 100 bytes, and on a single packet (throughput is reported per packet), which
//!   is what batching in the daemon saves;
//! - `filter_session`: one extension hook (contract 1.1) through `extension(name, JSON)`.
//!
//! The plugins are built by `tests/support/build.rs` (dev profile).

#[path = "../tests/support/build.rs"]
mod support;

use std::sync::Arc;

use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use wolfguard_plugin_api::{Answer, AuthRequest, Hook, Packet, SessionInfo};
use wolfguard_plugin_host::{HostCall, PluginHost, PluginSpec};
use wolfguard_runtime::{PoolConfig, PriorityPool};

fn hosts() -> Vec<(&'static str, PluginHost)> {
    let b = support::built();
    let pool = Arc::new(PriorityPool::new(PoolConfig::default()).expect("pool"));
    let mut native = PluginSpec::native("fixture", &b.fixture_native);
    native.settings = "record = false".into();
    let mut wasm = PluginSpec::wasm("fixture", &b.fixture_wasm);
    wasm.settings = "record = false".into();
    wasm.sandbox.host_calls = vec![HostCall::Log, HostCall::Metrics, HostCall::Kv];
    vec![
        (
            "native",
            PluginHost::load(vec![native], pool.clone()).expect("native"),
        ),
        ("wasm", PluginHost::load(vec![wasm], pool).expect("wasm")),
    ]
}

fn bench(c: &mut Criterion) {
    let hosts = hosts();
    let req = AuthRequest {
        conversation: 1,
        peer: "192.0.2.1:443".into(),
        group: None,
        state: Vec::new(),
        answers: vec![
            Answer {
                name: "username".into(),
                value: "alice".into(),
            },
            Answer {
                name: "password".into(),
                value: "alice-pw".into(),
            },
        ],
    };
    let mut g = c.benchmark_group("auth_begin");
    for (name, host) in &hosts {
        g.bench_function(*name, |b| {
            b.iter(|| {
                host.auth_blocking("fixture", Hook::AuthBegin, &req)
                    .unwrap()
            })
        });
    }
    g.finish();

    let payload = vec![0x45u8; 100];
    let batch: Vec<Packet<'_>> = (0..64)
        .map(|i| Packet {
            session: i,
            ingress: true,
            data: &payload,
        })
        .collect();
    let mut out = Vec::with_capacity(64);
    let mut g = c.benchmark_group("filter_packets");
    g.throughput(Throughput::Elements(batch.len() as u64));
    for (name, host) in &hosts {
        g.bench_with_input(BenchmarkId::new(*name, 64), &batch, |b, batch| {
            b.iter(|| host.filter_packets(batch, &mut out))
        });
    }
    g.finish();
    let mut g = c.benchmark_group("filter_packets");
    g.throughput(Throughput::Elements(1));
    for (name, host) in &hosts {
        g.bench_with_input(BenchmarkId::new(*name, 1), &batch[..1], |b, one| {
            b.iter(|| host.filter_packets(one, &mut out))
        });
    }
    g.finish();

    let session = SessionInfo {
        session: 7,
        user: "alice".into(),
        groups: vec!["staff".into()],
        peer: "192.0.2.1:50000".into(),
        addresses: vec!["10.10.0.7".into(), "fd00::7".into()],
    };
    let mut g = c.benchmark_group("filter_session");
    for (name, host) in &hosts {
        g.bench_function(*name, |b| b.iter(|| host.filter_session_blocking(&session)));
    }
    g.finish();
}

criterion_group!(benches, bench);
criterion_main!(benches);
