//! Builds the plugins the host tests load, once per test binary: the fixture native and
//! wasm32-wasip2, auth-local and log-json native, and the ABI compatibility plugin built against
//! frozen contract copy 1.0, as 1.0, a future 1.2 and a pretend 2.0. Uses the same cargo and target directory as the test itself, so
//! artifacts are shared with the workspace build; set `CARGO_BUILD_JOBS` to bound parallelism.

#![allow(dead_code)]

use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::OnceLock;

/// Paths of the built plugins.
pub struct Built {
    pub fixture_native: PathBuf,
    pub fixture_wasm: PathBuf,
    pub auth_local: PathBuf,
    pub auth_local_wasm: PathBuf,
    pub log_json: PathBuf,
    pub old_v1_0: PathBuf,
    pub old_major_2: PathBuf,
    pub new_v1_2: PathBuf,
}

pub fn workspace() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

pub fn target_dir() -> PathBuf {
    std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| workspace().join("target"))
}

fn cargo(args: &[&str]) {
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let status = Command::new(&cargo)
        .args(args)
        .current_dir(workspace())
        .env("CARGO_TARGET_DIR", target_dir())
        .status()
        .unwrap_or_else(|e| panic!("cannot run {cargo}: {e}"));
    assert!(status.success(), "cargo {} failed", args.join(" "));
}

/// Builds everything on first call.
pub fn built() -> &'static Built {
    static BUILT: OnceLock<Built> = OnceLock::new();
    BUILT.get_or_init(|| {
        let t = target_dir();
        cargo(&[
            "build",
            "-p",
            "wolfguard-plugin-fixture",
            "-p",
            "wolfguard-plugin-auth-local",
            "-p",
            "wolfguard-plugin-log-json",
        ]);
        cargo(&[
            "build",
            "-p",
            "wolfguard-plugin-fixture",
            "-p",
            "wolfguard-plugin-auth-local",
            "--target",
            "wasm32-wasip2",
        ]);
        let compat = workspace().join("core/plugin-host/tests/abi-compat/Cargo.toml");
        let compat = compat.to_str().expect("workspace path is UTF-8");
        let so = t.join("debug/libwolfguard_plugin_v1_0.so");
        cargo(&[
            "build",
            "--manifest-path",
            compat,
            "--features",
            "pretend-major-2",
        ]);
        let major_2 = t.join("abi-compat-major-2.so");
        std::fs::copy(&so, &major_2).expect("copy the pretend-2.0 plugin");
        cargo(&["build", "--manifest-path", compat, "--features", "v1_2"]);
        let new_v1_2 = t.join("abi-compat-v1_2.so");
        std::fs::copy(&so, &new_v1_2).expect("copy the 1.2 plugin");
        cargo(&["build", "--manifest-path", compat]);
        let old = t.join("abi-compat-v1_0.so");
        std::fs::copy(&so, &old).expect("copy the 1.0 plugin");
        Built {
            fixture_native: t.join("debug/libwolfguard_plugin_fixture.so"),
            fixture_wasm: t.join("wasm32-wasip2/debug/wolfguard_plugin_fixture.wasm"),
            auth_local: t.join("debug/libwolfguard_plugin_auth_local.so"),
            auth_local_wasm: t.join("wasm32-wasip2/debug/wolfguard_plugin_auth_local.wasm"),
            log_json: t.join("debug/libwolfguard_plugin_log_json.so"),
            old_v1_0: old,
            old_major_2: major_2,
            new_v1_2,
        }
    })
}
