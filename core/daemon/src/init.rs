//! `wolfguard init`: a working first setup in one directory.
//!
//! Creates a self-signed ECDSA P-256 certificate (with the `openssl` command, because the
//! vendored wolfSSL is built without certificate generation), a password file with one user whose
//! random password is printed once, and a configuration that points at them. Existing files are
//! never overwritten, so running it again is harmless.

use std::fmt::Write as _;
use std::path::{Path, PathBuf};
use std::process::Command;

use anyhow::{Context as _, bail};
use rand::Rng as _;

use crate::auth::hash_password;
use crate::passwd::write_atomic;

/// Arguments of `wolfguard init`.
#[derive(clap::Args, Debug)]
pub struct Args {
    /// Directory for the certificate, key, password file and configuration.
    #[arg(long, default_value = "/etc/wolfguard")]
    pub dir: PathBuf,
    /// Name of the first user.
    #[arg(long, default_value = "admin")]
    pub user: String,
    /// Address to listen on.
    #[arg(long, default_value = "0.0.0.0:443")]
    pub listen: String,
    /// Host name for the certificate.
    #[arg(long, default_value = "wolfguard.local")]
    pub hostname: String,
}

/// Runs the command.
pub fn main(args: &Args) -> anyhow::Result<()> {
    std::fs::create_dir_all(&args.dir)
        .with_context(|| format!("cannot create {}", args.dir.display()))?;
    let dir = args.dir.canonicalize()?;
    let (crt, key) = (dir.join("server.crt"), dir.join("server.key"));
    if !crt.exists() || !key.exists() {
        make_certificate(&crt, &key, &args.hostname)?;
        println!("created a self-signed certificate: {}", crt.display());
    }
    let passwd = dir.join("passwd");
    if !passwd.exists() {
        let password: String = rand::rng()
            .sample_iter(rand::distr::Alphanumeric)
            .take(20)
            .map(char::from)
            .collect();
        write_atomic(
            &passwd,
            &[format!("{}:*:{}", args.user, hash_password(&password))],
        )?;
        println!("created user {:?} with password: {password}", args.user);
        println!(
            "  (shown once; change it with `wolfguard passwd -c {} {}`)",
            passwd.display(),
            args.user
        );
    }
    let config = dir.join("wolfguard.toml");
    if !config.exists() {
        std::fs::write(&config, render_config(&dir, &args.listen))
            .with_context(|| format!("cannot write {}", config.display()))?;
        println!("created configuration: {}", config.display());
    }
    println!(
        "certificate pin for clients: --servercert {}",
        pin_sha256(&crt)?
    );
    Ok(())
}

fn make_certificate(crt: &Path, key: &Path, host: &str) -> anyhow::Result<()> {
    let status = Command::new("openssl")
        .args(["req", "-x509", "-nodes", "-days", "825", "-newkey", "ec"])
        .args(["-pkeyopt", "ec_paramgen_curve:P-256", "-subj"])
        .arg(format!("/CN={host}"))
        .arg("-addext")
        .arg(format!("subjectAltName=DNS:{host}"))
        .arg("-keyout")
        .arg(key)
        .arg("-out")
        .arg(crt)
        .stderr(std::process::Stdio::null())
        .status()
        .context("cannot run `openssl` (apt-get install openssl)")?;
    if !status.success() {
        bail!("openssl could not create the certificate");
    }
    use std::os::unix::fs::PermissionsExt as _;
    std::fs::set_permissions(key, std::fs::Permissions::from_mode(0o600))?;
    Ok(())
}

/// openconnect's `pin-sha256:` form of the certificate's public key.
pub fn pin_sha256(crt: &Path) -> anyhow::Result<String> {
    let out = Command::new("sh")
        .arg("-c")
        .arg("openssl x509 -in \"$1\" -pubkey -noout | openssl pkey -pubin -outform der | openssl dgst -sha256 -binary | openssl base64 -A")
        .arg("sh")
        .arg(crt)
        .output()
        .context("cannot run openssl")?;
    if !out.status.success() {
        bail!("cannot compute the certificate pin");
    }
    Ok(format!(
        "pin-sha256:{}",
        String::from_utf8_lossy(&out.stdout).trim()
    ))
}

fn render_config(dir: &Path, listen: &str) -> String {
    let mut s = String::new();
    let _ = writeln!(
        s,
        "# Created by `wolfguard init`. Every key is documented in the annotated"
    );
    let _ = writeln!(
        s,
        "# example config/wolfguard.example.toml of the source tree."
    );
    let _ = writeln!(s, "[server]\nlisten = [\"{listen}\"]");
    let _ = writeln!(s, "certificate = \"{}\"", dir.join("server.crt").display());
    let _ = writeln!(s, "private_key = \"{}\"", dir.join("server.key").display());
    let _ = writeln!(s, "state_dir = \"{}\"", dir.join("state").display());
    let _ = writeln!(
        s,
        // No `dns`: wolfguard runs no resolver; clients keep theirs until the admin names one.
        "\n[network]\nipv4_pool = \"192.168.77.0/24\""
    );
    let _ = writeln!(
        s,
        "\n[auth]\npassword_file = \"{}\"",
        dir.join("passwd").display()
    );
    s
}
