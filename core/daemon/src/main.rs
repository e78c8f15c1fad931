//! `wolfguard`: the OpenConnect/AnyConnect-compatible VPN server.
//!
//! Subcommands: run the server (default), validate a configuration, manage the password file
//! (ocpasswd-compatible) and create a first working setup for a new machine.

#![forbid(unsafe_code)]

use std::io::BufRead as _;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::Arc;

use anyhow::Context as _;
use clap::{Parser, Subcommand};

mod auth;
mod dataplane;
mod front;
mod init;
mod leases;
mod metrics;
mod passwd;
mod plugins;
mod server;
mod sessions;
mod tunnel;

/// Default configuration path.
const DEFAULT_CONFIG: &str = "/etc/wolfguard/wolfguard.toml";

#[derive(Parser, Debug)]
#[command(
    name = "wolfguard",
    version,
    about = "OpenConnect/AnyConnect-compatible VPN server"
)]
struct Cli {
    /// Configuration file (for running the server; `check-config` takes its own argument and
    /// `passwd -c` names the password file, as ocpasswd does).
    #[arg(short, long, default_value = DEFAULT_CONFIG)]
    config: PathBuf,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand, Debug)]
enum Command {
    /// Run the server (the default).
    Run,
    /// Validate a configuration file and exit: 0 when it is usable, 1 with every problem listed.
    CheckConfig {
        /// The file to check (defaults to --config).
        file: Option<PathBuf>,
    },
    /// Add, change, lock, unlock or delete a user in an ocpasswd-format password file.
    Passwd(passwd::Args),
    /// Create a self-signed certificate, a configuration and a first user in a directory.
    Init(init::Args),
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let result = match cli.command.unwrap_or(Command::Run) {
        Command::Run => run(&cli.config),
        Command::CheckConfig { file } => check_config(&file.unwrap_or(cli.config)),
        Command::Passwd(args) => passwd::main(&args),
        Command::Init(args) => init::main(&args),
    };
    match result {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("wolfguard: {e:#}");
            ExitCode::FAILURE
        }
    }
}

fn load(path: &std::path::Path) -> anyhow::Result<wolfguard_config::Config> {
    let config = wolfguard_config::load(path).map_err(|e| anyhow::anyhow!("{e}"))?;
    let issues = wolfguard_config::check_files(&config);
    if !issues.is_empty() {
        let text: Vec<String> = issues
            .iter()
            .map(|i| format!("{}: {i}", path.display()))
            .collect();
        anyhow::bail!("{}", text.join("\n"));
    }
    Ok(config)
}

fn check_config(path: &std::path::Path) -> anyhow::Result<()> {
    let config = load(path)?;
    let plugins = plugins::check(&config).with_context(|| format!("{}", path.display()))?;
    for line in &plugins {
        println!("{line}");
    }
    println!("{}: OK", path.display());
    Ok(())
}

fn run(path: &std::path::Path) -> anyhow::Result<()> {
    let config = load(path)?;
    init_logging(&config.logging);
    match wolfguard_sys::raise_fd_limit() {
        Ok(n) if n < 4096 => tracing::warn!(
            limit = n,
            "open-file limit is low: each tunnel needs one or two sockets (raise LimitNOFILE)"
        ),
        Ok(_) => {}
        Err(e) => tracing::warn!(error = %e, "cannot raise the open-file limit"),
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .thread_name("wg-control")
        .enable_all()
        .build()
        .context("cannot start the control runtime")?;
    let server = Arc::new(server::Server::build(config)?);
    tracing::info!(version = env!("CARGO_PKG_VERSION"), "wolfguard started");
    let result = rt.block_on(server::run(server.clone()));
    // Tunnels were told to stop; give them their goodbye, then stop the workers.
    std::thread::sleep(std::time::Duration::from_millis(300));
    drop(rt);
    match Arc::try_unwrap(server) {
        Ok(server) => {
            let server::Server { dataplane, nat, .. } = server;
            dataplane.join();
            // The masquerade table goes last, after the last tunnel stopped using it.
            if let Some(nat) = nat {
                tracing::info!("removing the NAT table");
                drop(nat);
            }
        }
        Err(_) => {
            tracing::warn!("server still referenced at shutdown; workers end with the process")
        }
    }
    tracing::info!("wolfguard stopped");
    result
}

fn init_logging(cfg: &wolfguard_config::LoggingConfig) {
    use tracing_subscriber::EnvFilter;
    let filter = std::env::var("WOLFGUARD_LOG")
        .ok()
        .and_then(|v| EnvFilter::builder().with_regex(false).parse(v).ok())
        .or_else(|| {
            EnvFilter::builder()
                .with_regex(false)
                .parse(&cfg.level)
                .ok()
        })
        .unwrap_or_else(|| EnvFilter::new("info"));
    let builder = tracing_subscriber::fmt()
        .with_env_filter(filter)
        .with_writer(std::io::stderr);
    match cfg.format {
        wolfguard_config::LogFormat::Json => builder.json().init(),
        wolfguard_config::LogFormat::Pretty => builder.pretty().init(),
        _ => builder.compact().init(),
    }
}

/// Reads one line from standard input without its line ending.
fn read_stdin_line() -> anyhow::Result<String> {
    let mut line = String::new();
    std::io::stdin()
        .lock()
        .read_line(&mut line)
        .context("cannot read standard input")?;
    Ok(line.trim_end_matches(['\r', '\n']).to_owned())
}

#[cfg(test)]
mod tests {
    use clap::CommandFactory as _;

    use super::*;

    #[test]
    fn command_line_definition_is_consistent() {
        // Catches clashing short options (a global -c once shadowed `passwd -c`).
        Cli::command().debug_assert();
    }

    #[test]
    fn passwd_c_names_the_password_file_and_run_takes_config() {
        let cli = Cli::try_parse_from(["wolfguard", "passwd", "-c", "/tmp/p", "alice"]).unwrap();
        match cli.command {
            Some(Command::Passwd(a)) => assert_eq!(a.file, PathBuf::from("/tmp/p")),
            other => panic!("{other:?}"),
        }
        let cli = Cli::try_parse_from(["wolfguard", "-c", "/tmp/w.toml"]).unwrap();
        assert_eq!(cli.config, PathBuf::from("/tmp/w.toml"));
        assert!(cli.command.is_none());
    }
}
