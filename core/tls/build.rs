//! Refuses to build against a wolfSSL that lacks the settings wolfguard relies on.
//!
//! wolfssl-sys only reruns its build script when files change, not when `CFLAGS` change, so a
//! stale `libwolfssl.a` silently lacks the exporter or the PSK suites. This guard reads the
//! `options.h` that wolfssl-sys exported (it declares `links = "wolfssl"`) and names the fix.

use std::{env, fs, path::PathBuf};

const REQUIRED: &[&str] = &[
    "HAVE_KEYING_MATERIAL",
    "HAVE_SECRET_CALLBACK",
    "WOLFSSL_STATIC_PSK",
    "WOLFSSL_STATIC_RSA",
    "WOLFSSL_DTLS_CID",
    "WOLFSSL_DTLS13",
    "WOLFSSL_AESNI",
];
const FORBIDDEN: &[&str] = &["NO_PSK", "HAVE_SESSION_TICKET", "SINGLE_THREADED"];

fn main() {
    println!("cargo:rerun-if-env-changed=DEP_WOLFSSL_INCLUDE");
    let Some(include) = env::var_os("DEP_WOLFSSL_INCLUDE") else {
        panic!("wolfssl-sys did not export DEP_WOLFSSL_INCLUDE; cannot check its build options");
    };
    let options = PathBuf::from(include).join("wolfssl").join("options.h");
    println!("cargo:rerun-if-changed={}", options.display());
    let text = fs::read_to_string(&options)
        .unwrap_or_else(|e| panic!("cannot read {}: {e}", options.display()));
    let defined = |name: &str| {
        let mut on = false;
        for line in text.lines() {
            let mut words = line.split_whitespace();
            match (words.next(), words.next()) {
                (Some("#define"), Some(n)) if n == name => on = true,
                (Some("#undef"), Some(n)) if n == name => on = false,
                _ => {}
            }
        }
        on
    };
    let missing: Vec<_> = REQUIRED.iter().filter(|n| !defined(n)).collect();
    let present: Vec<_> = FORBIDDEN.iter().filter(|n| defined(n)).collect();
    if !missing.is_empty() || !present.is_empty() {
        panic!(
            "wolfSSL at {} was built with the wrong options (missing {missing:?}, unwanted \
             {present:?}). The CFLAGS in .cargo/config.toml did not reach it, most likely because \
             wolfssl-sys was built before they changed. Fix: `cargo clean -p wolfssl-sys` and build \
             again.",
            options.display()
        );
    }
    if defined("WC_AES_BITSLICED") {
        println!(
            "cargo:warning=wolfSSL has WC_AES_BITSLICED: every AES connection costs ~240 KiB more"
        );
    }
}
