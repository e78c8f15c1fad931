//! Declares the `loom` cfg so `unexpected_cfgs` accepts it. The crate inherits the workspace
//! lints (`[lints] workspace = true`), which cannot be combined with a crate-level
//! `[lints.rust] unexpected_cfgs = { check-cfg = [...] }` table, hence this script.

fn main() {
    println!("cargo::rustc-check-cfg=cfg(loom)");
    println!("cargo::rerun-if-changed=build.rs");
}
