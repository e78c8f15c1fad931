//! The interop lab: wolfguard and the real `openconnect` client in network namespaces.
//!
//! ```text
//!   netns wgs-<id>  (server)                     netns wgc-<id>-<i>  (client i)
//!   wolfguard :443 ── vs<id>-<i> 10.99.<i>.1 ═══ vc<id>-<i> 10.99.<i>.2 ── openconnect
//!   TUN wgvpn0 192.168.77.1/24  ◄════ CSTP over TLS ════►  tun0 (configured by our script)
//! ```
//!
//! Every lab gets a random id, so tests may run in parallel. Everything a lab creates — namespaces
//! (and with them the veth pairs and TUN devices inside), processes, files — is removed when the
//! [`Lab`] is dropped, also when a test panics. Processes are stopped by PID, never by name.
//! Every wait is bounded in time. Tests need root (CI runs as root).

use std::collections::HashMap;
use std::fs;
use std::io::Write as _;
use std::net::Ipv4Addr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::time::{Duration, Instant};

use anyhow::{Context as _, Result, bail};

/// Users every lab's password file contains: (name, password, groups).
pub const USERS: &[(&str, &str, &str)] = &[
    ("alice", "alice-secret", "*"),
    ("bob", "bob-secret", "*"),
    ("carol", "carol-secret", "*"),
];

/// Path of the wolfguard binary under test.
pub fn wolfguard_bin() -> PathBuf {
    if let Some(p) = std::env::var_os("WOLFGUARD_BIN") {
        return PathBuf::from(p);
    }
    let root = Path::new(env!("CARGO_MANIFEST_DIR"))
        .parent()
        .expect("tests/ has a parent");
    let target = std::env::var_os("CARGO_TARGET_DIR").map_or(root.join("target"), PathBuf::from);
    for profile in ["debug", "release"] {
        let p = target.join(profile).join("wolfguard");
        if p.exists() {
            return p;
        }
    }
    panic!(
        "wolfguard binary not found under {}: run `cargo build -p wolfguard` first",
        target.display()
    );
}

fn run(cmd: &mut Command) -> Result<Output> {
    let out = cmd
        .output()
        .with_context(|| format!("cannot run {cmd:?}"))?;
    if !out.status.success() {
        bail!("{cmd:?} failed: {}", String::from_utf8_lossy(&out.stderr));
    }
    Ok(out)
}

fn sh(script: &str) -> Result<Output> {
    run(Command::new("sh").arg("-ec").arg(script))
}

/// Polls `f` every 50 ms until it returns `Some` or `limit` passes.
pub fn wait_for<T>(limit: Duration, mut f: impl FnMut() -> Option<T>) -> Option<T> {
    let end = Instant::now() + limit;
    loop {
        if let Some(v) = f() {
            return Some(v);
        }
        if Instant::now() >= end {
            return None;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
}

/// Stops a child: SIGTERM, then SIGKILL after `grace`.
pub fn stop_child(child: &mut Child, grace: Duration) {
    if matches!(child.try_wait(), Ok(Some(_))) {
        return;
    }
    let _ = Command::new("kill")
        .arg("-TERM")
        .arg(child.id().to_string())
        .status();
    let end = Instant::now() + grace;
    while Instant::now() < end {
        if matches!(child.try_wait(), Ok(Some(_))) {
            return;
        }
        std::thread::sleep(Duration::from_millis(20));
    }
    let _ = child.kill();
    let _ = child.wait();
}

/// Options of a lab.
#[derive(Debug, Clone)]
pub struct LabOptions {
    /// Client namespaces to create.
    pub clients: usize,
    /// Also create an "internet" namespace behind the server: `wgi-<id>`, host 10.200.0.2,
    /// reachable from the server at 10.200.0.1 and with no route back to the VPN pool.
    pub internet: bool,
    /// The IPv4 pool.
    pub pool: String,
    /// Use an RSA server certificate instead of ECDSA P-256.
    pub rsa: bool,
    /// A whole configuration to use instead of the generated one; `@DIR@` stands for the lab's
    /// directory (certificate, key and password file live there).
    pub base_config: Option<String>,
    /// Extra TOML appended to the generated config's tables: `(table, "key = value\n…")`.
    pub config: Vec<(&'static str, String)>,
}

impl Default for LabOptions {
    fn default() -> Self {
        Self {
            clients: 1,
            internet: false,
            pool: "192.168.77.0/24".into(),
            rsa: false,
            base_config: None,
            config: Vec::new(),
        }
    }
}

/// A server namespace, client namespaces and a running wolfguard.
pub struct Lab {
    /// Short random id.
    pub id: String,
    /// Working directory (config, certificate, logs).
    pub dir: PathBuf,
    /// Server namespace name.
    pub server_ns: String,
    /// Client namespace names.
    pub client_ns: Vec<String>,
    /// The "internet" namespace, when asked for.
    pub internet_ns: Option<String>,
    /// `pin-sha256:…` of the server certificate.
    pub pin: String,
    server: Option<Child>,
    children: Vec<Child>,
}

impl Lab {
    /// Builds the namespaces, writes the configuration and starts wolfguard.
    pub fn start(name: &str, opts: LabOptions) -> Result<Self> {
        assert!(
            is_root(),
            "the interop suite needs root (network namespaces, TUN devices)"
        );
        let id = format!("{:04x}", rand_u16());
        let dir = std::env::temp_dir().join(format!("wg-lab-{name}-{id}"));
        fs::create_dir_all(&dir)?;
        let mut lab = Self {
            id: id.clone(),
            dir: dir.clone(),
            server_ns: format!("wgs-{id}"),
            client_ns: Vec::new(),
            internet_ns: None,
            pin: String::new(),
            server: None,
            children: Vec::new(),
        };
        run(Command::new("ip").args(["netns", "add", &lab.server_ns]))?;
        lab.exec_ok(&lab.server_ns.clone(), "ip link set lo up")?;
        for i in 0..opts.clients {
            let ns = format!("wgc-{id}-{i}");
            run(Command::new("ip").args(["netns", "add", &ns]))?;
            lab.client_ns.push(ns.clone());
            let (vs, vc) = (format!("vs{id}-{i}"), format!("vc{id}-{i}"));
            sh(&format!(
                "ip link add {vs} netns {s} type veth peer name {vc} netns {ns}
                 ip -n {s} addr add 10.99.{i}.1/24 dev {vs}
                 ip -n {s} link set {vs} up
                 ip -n {ns} addr add 10.99.{i}.2/24 dev {vc}
                 ip -n {ns} link set {vc} up
                 ip -n {ns} link set lo up",
                s = lab.server_ns
            ))?;
        }
        if opts.internet {
            let ns = format!("wgi-{id}");
            run(Command::new("ip").args(["netns", "add", &ns]))?;
            lab.internet_ns = Some(ns.clone());
            sh(&format!(
                "ip link add vi{id}s netns {s} type veth peer name vi{id}i netns {ns}
                 ip -n {s} addr add 10.200.0.1/24 dev vi{id}s
                 ip -n {s} link set vi{id}s up
                 ip -n {ns} addr add 10.200.0.2/24 dev vi{id}i
                 ip -n {ns} link set vi{id}i up
                 ip -n {ns} link set lo up",
                s = lab.server_ns
            ))?;
        }
        lab.make_credentials(opts.rsa)?;
        match &opts.base_config {
            Some(text) => {
                let text = text.replace("@DIR@", &dir.display().to_string());
                fs::write(dir.join("wolfguard.toml"), text)?;
            }
            None => lab.write_config(&opts.pool, &opts.config)?,
        }
        lab.start_server()?;
        Ok(lab)
    }

    fn make_credentials(&mut self, rsa: bool) -> Result<()> {
        let d = &self.dir;
        sh(&format!(
            "openssl req -x509 -nodes -days 2 {key} \
             -subj /CN=wolfguard-lab -keyout {d}/server.key -out {d}/server.crt 2>/dev/null
             chmod 600 {d}/server.key",
            d = d.display(),
            key = if rsa {
                "-newkey rsa:2048"
            } else {
                "-newkey ec -pkeyopt ec_paramgen_curve:P-256"
            }
        ))?;
        let pin = sh(&format!(
            "openssl x509 -in {}/server.crt -pubkey -noout | openssl pkey -pubin -outform der \
             | openssl dgst -sha256 -binary | openssl base64 -A",
            d.display()
        ))?;
        self.pin = format!("pin-sha256:{}", String::from_utf8_lossy(&pin.stdout).trim());
        let mut passwd = String::new();
        for (user, pass, groups) in USERS {
            let h = run(Command::new("openssl").args(["passwd", "-6", pass]))?;
            passwd.push_str(&format!(
                "{user}:{groups}:{}\n",
                String::from_utf8_lossy(&h.stdout).trim()
            ));
        }
        let path = d.join("passwd");
        fs::write(&path, passwd)?;
        sh(&format!("chmod 600 {}", path.display()))?;
        Ok(())
    }

    fn write_config(&self, pool: &str, extra: &[(&'static str, String)]) -> Result<()> {
        let d = self.dir.display();
        let mut tables: Vec<(&str, String)> = vec![
            (
                "server",
                format!(
                    "listen = [\"0.0.0.0:443\"]\ncertificate = \"{d}/server.crt\"\n\
                     private_key = \"{d}/server.key\"\nstate_dir = \"{d}/state\"\nworkers = 2\n"
                ),
            ),
            (
                "network",
                format!("ipv4_pool = \"{pool}\"\ndns = [\"192.168.77.1\"]\n"),
            ),
            ("timeouts", String::new()),
            ("auth", format!("password_file = \"{d}/passwd\"\n")),
            // Inside the server namespace: loopback there is the lab's own.
            ("metrics", "listen = [\"127.0.0.1:9220\"]\n".into()),
            (
                "logging",
                "level = \"info,wolfguard=debug,wolfguard::tunnel::dtls_channel=trace\"\nformat = \"json\"\n".into(),
            ),
        ];
        for (table, text) in extra {
            match tables.iter_mut().find(|(t, _)| t == table) {
                Some((_, body)) => body.push_str(text),
                None => tables.push((table, text.clone())),
            }
        }
        let mut out = String::new();
        for (t, body) in tables {
            out.push_str(&format!("[{t}]\n{body}\n"));
        }
        fs::write(self.dir.join("wolfguard.toml"), out)?;
        Ok(())
    }

    fn start_server(&mut self) -> Result<()> {
        let log = fs::File::create(self.server_log_path())?;
        let child = Command::new("ip")
            .args(["netns", "exec", &self.server_ns])
            .arg(wolfguard_bin())
            .arg("--config")
            .arg(self.dir.join("wolfguard.toml"))
            .stdin(Stdio::null())
            .stdout(log.try_clone()?)
            .stderr(log)
            .spawn()?;
        self.server = Some(child);
        let up = wait_for(Duration::from_secs(20), || {
            if let Some(Ok(Some(st))) = self.server.as_mut().map(Child::try_wait) {
                return Some(Err(anyhow::anyhow!(
                    "wolfguard exited: {st}\n{}",
                    self.server_log()
                )));
            }
            self.log_has("listening (TCP)").then_some(Ok(()))
        });
        up.unwrap_or_else(|| {
            Err(anyhow::anyhow!(
                "wolfguard did not start:\n{}",
                self.server_log()
            ))
        })
    }

    /// The server's log file.
    pub fn server_log_path(&self) -> PathBuf {
        self.dir.join("wolfguard.log")
    }

    /// The server's log so far.
    pub fn server_log(&self) -> String {
        fs::read_to_string(self.server_log_path()).unwrap_or_default()
    }

    fn log_has(&self, message: &str) -> bool {
        self.server_log().contains(message)
    }

    /// The structured log events whose message is `message`, as JSON field maps.
    pub fn events(&self, message: &str) -> Vec<HashMap<String, serde_json::Value>> {
        self.server_log()
            .lines()
            .filter_map(|l| serde_json::from_str::<serde_json::Value>(l).ok())
            .filter_map(|v| {
                let fields = v.get("fields")?.as_object()?.clone();
                (fields.get("message")?.as_str()? == message).then(|| fields.into_iter().collect())
            })
            .collect()
    }

    /// Runs a shell command in a namespace; fails on non-zero exit.
    pub fn exec_ok(&self, ns: &str, script: &str) -> Result<Output> {
        run(Command::new("ip").args(["netns", "exec", ns, "sh", "-ec", script]))
    }

    /// Runs a shell command in a namespace and returns its output whatever the exit status.
    pub fn exec(&self, ns: &str, script: &str) -> Output {
        Command::new("ip")
            .args(["netns", "exec", ns, "sh", "-c", script])
            .output()
            .expect("ip netns exec runs")
    }

    /// Starts a background process in a namespace; it is stopped when the lab drops.
    pub fn spawn(&mut self, ns: &str, args: &[&str], log: &Path) -> Result<u32> {
        let f = fs::File::create(log)?;
        let child = Command::new("ip")
            .args(["netns", "exec", ns])
            .args(args)
            .stdin(Stdio::null())
            .stdout(f.try_clone()?)
            .stderr(f)
            .spawn()?;
        let pid = child.id();
        self.children.push(child);
        Ok(pid)
    }

    /// Writes the client-side connect script (our own, minimal vpnc-script: it configures the
    /// tunnel interface and records the environment, and never touches /etc/resolv.conf).
    fn client_script(&self, tag: &str) -> Result<(PathBuf, PathBuf)> {
        let state = self.dir.join(format!("client-{tag}.env"));
        let script = self.dir.join(format!("client-{tag}.sh"));
        fs::write(
            &script,
            format!(
                "#!/bin/sh\n\
                 case \"$reason\" in\n\
                 connect)\n\
                   ip link set dev \"$TUNDEV\" up mtu \"${{INTERNAL_IP4_MTU:-1400}}\"\n\
                   ip addr add \"$INTERNAL_IP4_ADDRESS/32\" dev \"$TUNDEV\"\n\
                   ip route add 192.168.77.0/24 dev \"$TUNDEV\"\n\
                   i=0; while [ \"$i\" -lt \"${{CISCO_SPLIT_INC:-0}}\" ]; do\n\
                     eval net=\\$CISCO_SPLIT_INC_${{i}}_ADDR len=\\$CISCO_SPLIT_INC_${{i}}_MASKLEN\n\
                     ip route add \"$net/$len\" dev \"$TUNDEV\"; i=$((i+1))\n\
                   done\n\
                   if [ -n \"$INTERNAL_IP6_ADDRESS\" ]; then\n\
                     ip -6 addr add \"${{INTERNAL_IP6_ADDRESS%%/*}}/128\" dev \"$TUNDEV\" nodad\n\
                     ip -6 route add fd00:77::/48 dev \"$TUNDEV\"\n\
                   fi\n\
                   env | grep -E '^(INTERNAL_|CISCO_|TUNDEV|VPNGATEWAY)' > {s}.tmp\n\
                   echo REASON=connect >> {s}.tmp\n\
                   mv {s}.tmp {s} ;;\n\
                 reconnect) echo REASON=reconnect >> {s} ;;\n\
                 disconnect) echo REASON=disconnect >> {s} ;;\n\
                 esac\n\
                 exit 0\n",
                s = state.display()
            ),
        )?;
        sh(&format!("chmod 755 {}", script.display()))?;
        Ok((script, state))
    }

    /// Starts `openconnect` in client namespace `i` with a user name and password, TLS only.
    pub fn openconnect(
        &mut self,
        i: usize,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> Result<Client> {
        let mut args = vec!["--no-dtls"];
        args.extend_from_slice(extra);
        self.openconnect_dtls(i, user, password, &args)
    }

    /// Starts `openconnect` with DTLS allowed (its default), plus `extra` arguments.
    pub fn openconnect_dtls(
        &mut self,
        i: usize,
        user: &str,
        password: &str,
        extra: &[&str],
    ) -> Result<Client> {
        let url = format!("https://10.99.{i}.1/");
        self.openconnect_url(i, user, password, &url, extra)
    }

    /// Starts `openconnect` (DTLS allowed unless `extra` says otherwise) against `url`.
    pub fn openconnect_url(
        &mut self,
        i: usize,
        user: &str,
        password: &str,
        url: &str,
        extra: &[&str],
    ) -> Result<Client> {
        let tag = format!("{i}-{}", rand_u16());
        let (script, state) = self.client_script(&tag)?;
        let log = self.dir.join(format!("openconnect-{tag}.log"));
        let mut args: Vec<String> = vec![
            "openconnect".into(),
            "--protocol=anyconnect".into(),
            "--non-inter".into(),
            "--passwd-on-stdin".into(),
            "-u".into(),
            user.into(),
            "--servercert".into(),
            self.pin.clone(),
            "-s".into(),
            script.display().to_string(),
            "-i".into(),
            "tun0".into(),
            "-v".into(),
        ];
        args.extend(extra.iter().map(|s| s.to_string()));
        args.push(url.to_owned());
        self.start_client(i, args, Some(password), state, log)
    }

    /// Starts `openconnect` with a cookie (reconnect without credentials).
    pub fn openconnect_cookie(&mut self, i: usize, cookie: &str) -> Result<Client> {
        let tag = format!("{i}-{}", rand_u16());
        let (script, state) = self.client_script(&tag)?;
        let log = self.dir.join(format!("openconnect-{tag}.log"));
        let args: Vec<String> = vec![
            "openconnect".into(),
            "--protocol=anyconnect".into(),
            "--non-inter".into(),
            "--cookie-on-stdin".into(),
            "--servercert".into(),
            self.pin.clone(),
            "--no-dtls".into(),
            "-s".into(),
            script.display().to_string(),
            "-i".into(),
            "tun0".into(),
            "-v".into(),
            format!("https://10.99.{i}.1/"),
        ];
        self.start_client(i, args, Some(cookie), state, log)
    }

    fn start_client(
        &mut self,
        i: usize,
        args: Vec<String>,
        stdin: Option<&str>,
        state: PathBuf,
        log: PathBuf,
    ) -> Result<Client> {
        let f = fs::File::create(&log)?;
        let mut child = Command::new("ip")
            .args(["netns", "exec", &self.client_ns[i]])
            .args(&args)
            .stdin(Stdio::piped())
            .stdout(f.try_clone()?)
            .stderr(f)
            .spawn()?;
        if let Some(input) = stdin {
            let mut pipe = child.stdin.take().context("stdin")?;
            writeln!(pipe, "{input}")?;
        }
        Ok(Client {
            child: Some(child),
            ns: self.client_ns[i].clone(),
            state,
            log,
            started: Instant::now(),
        })
    }

    /// Sends `request` (raw HTTP, `\r\n` written as such) to the server's metrics endpoint and
    /// returns the raw answer.
    pub fn metrics_raw(&self, request: &str) -> String {
        let script = self.dir.join("scrape.py");
        let _ = fs::write(
            &script,
            "import socket,sys\n\
             s=socket.create_connection(('127.0.0.1',9220),timeout=5)\n\
             s.sendall(sys.argv[1].encode().decode('unicode_escape').encode())\n\
             d=b''\n\
             while True:\n    c=s.recv(65536)\n    if not c: break\n    d+=c\n\
             sys.stdout.write(d.decode())\n",
        );
        let out = Command::new("ip")
            .args(["netns", "exec", &self.server_ns, "timeout", "10", "python3"])
            .arg(&script)
            .arg(request.replace('\r', "\\r").replace('\n', "\\n"))
            .output();
        out.map(|o| String::from_utf8_lossy(&o.stdout).into_owned())
            .unwrap_or_default()
    }

    /// Scrapes `GET /metrics` and returns every sample, keyed by name plus labels as written
    /// (e.g. `wolfguard_dtls_handshakes_total{result="ok"}`).
    pub fn metrics(&self) -> HashMap<String, f64> {
        let text = self.metrics_raw("GET /metrics HTTP/1.1\r\nHost: x\r\n\r\n");
        let body = text.split_once("\r\n\r\n").map_or("", |(_, b)| b);
        body.lines()
            .filter(|l| !l.starts_with('#'))
            .filter_map(|l| {
                let (k, v) = l.rsplit_once(' ')?;
                Some((k.to_owned(), v.trim().parse().ok()?))
            })
            .collect()
    }

    /// Runs `openconnect --authenticate` and returns the cookie it printed.
    pub fn authenticate(&self, i: usize, user: &str, password: &str) -> Result<String> {
        let out = Command::new("sh")
            .arg("-c")
            .arg(format!(
                "echo '{password}' | timeout 20 ip netns exec {ns} openconnect --protocol=anyconnect \
                 --non-inter --passwd-on-stdin -u {user} --servercert {pin} --authenticate \
                 https://10.99.{i}.1/",
                ns = self.client_ns[i],
                pin = self.pin
            ))
            .output()?;
        let text = String::from_utf8_lossy(&out.stdout);
        text.lines()
            .find_map(|l| {
                l.strip_prefix("COOKIE=")
                    .map(|c| c.trim_matches('\'').to_owned())
            })
            .with_context(|| {
                format!(
                    "no cookie printed: {text} {}",
                    String::from_utf8_lossy(&out.stderr)
                )
            })
    }

    /// Starts `iperf3 -s` on the server's tunnel address and waits until it listens.
    pub fn start_iperf_server(&mut self) -> Result<()> {
        let ns = self.server_ns.clone();
        let log = self.dir.join("iperf3-server.log");
        self.spawn(&ns, &["iperf3", "-s", "-B", "192.168.77.1"], &log)?;
        wait_for(Duration::from_secs(10), || {
            self.exec(&ns, "ss -ltn | grep -q 192.168.77.1:5201")
                .status
                .success()
                .then_some(())
        })
        .context("iperf3 server does not listen")
    }

    /// Runs a bounded iperf3 transfer of `mbytes` MiB from client namespace `ns` (server to
    /// client with `reverse`); returns iperf3's JSON report.
    pub fn iperf(&self, ns: &str, reverse: bool, mbytes: u32) -> Result<serde_json::Value> {
        let flag = if reverse { "-R" } else { "" };
        let cmd = format!("timeout 120 iperf3 -c 192.168.77.1 -n {mbytes}M {flag} -J");
        let out = self.exec(ns, &cmd);
        if !out.status.success() {
            bail!("iperf3 failed: {}", String::from_utf8_lossy(&out.stdout));
        }
        Ok(serde_json::from_slice(&out.stdout)?)
    }

    /// Sends signal `sig` (e.g. `HUP`) to the server process.
    pub fn signal_server(&self, sig: &str) {
        if let Some(c) = &self.server {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(c.id().to_string())
                .status();
        }
    }

    /// Whether the server process is still running.
    pub fn server_alive(&mut self) -> bool {
        matches!(self.server.as_mut().map(Child::try_wait), Some(Ok(None)))
    }

    /// Stops the server with SIGTERM and waits (bounded) for it to exit.
    pub fn stop_server(&mut self) -> Option<std::process::ExitStatus> {
        let mut child = self.server.take()?;
        stop_child(&mut child, Duration::from_secs(10));
        child.try_wait().ok().flatten()
    }
}

impl Drop for Lab {
    fn drop(&mut self) {
        for c in &mut self.children {
            stop_child(c, Duration::from_secs(2));
        }
        if let Some(mut s) = self.server.take() {
            stop_child(&mut s, Duration::from_secs(5));
        }
        let all = self.client_ns.iter().chain(self.internet_ns.iter());
        for ns in all.chain(std::iter::once(&self.server_ns)) {
            // Processes left in the namespace would keep it alive; ours were stopped above.
            let _ = Command::new("ip").args(["netns", "del", ns]).status();
        }
        if std::thread::panicking() {
            eprintln!(
                "--- lab {} kept for inspection: {}",
                self.id,
                self.dir.display()
            );
            eprintln!("--- server log tail:\n{}", tail(&self.server_log(), 40));
        } else {
            let _ = fs::remove_dir_all(&self.dir);
        }
    }
}

/// A running openconnect client.
pub struct Client {
    child: Option<Child>,
    /// Its namespace.
    pub ns: String,
    state: PathBuf,
    /// Its log file.
    pub log: PathBuf,
    started: Instant,
}

impl Client {
    /// Waits until the tunnel is configured; returns the address and the time it took.
    pub fn wait_up(&mut self, limit: Duration) -> Result<(Ipv4Addr, Duration)> {
        let got = wait_for(limit, || {
            if let Some(Ok(Some(st))) = self.child.as_mut().map(Child::try_wait) {
                return Some(Err(anyhow::anyhow!(
                    "openconnect exited ({st}):\n{}",
                    self.log_text()
                )));
            }
            let env = self.env();
            let addr = env.get("INTERNAL_IP4_ADDRESS")?.parse().ok()?;
            Some(Ok((addr, self.started.elapsed())))
        });
        got.unwrap_or_else(|| {
            Err(anyhow::anyhow!(
                "tunnel not up in {limit:?}:\n{}",
                self.log_text()
            ))
        })
    }

    /// Variables openconnect passed to the connect script.
    pub fn env(&self) -> HashMap<String, String> {
        fs::read_to_string(&self.state)
            .unwrap_or_default()
            .lines()
            .filter_map(|l| l.split_once('=').map(|(k, v)| (k.to_owned(), v.to_owned())))
            .collect()
    }

    /// openconnect's output so far.
    pub fn log_text(&self) -> String {
        fs::read_to_string(&self.log).unwrap_or_default()
    }

    /// Waits for the client to exit; returns its status.
    pub fn wait_exit(&mut self, limit: Duration) -> Option<std::process::ExitStatus> {
        let child = self.child.as_mut()?;
        wait_for(limit, || child.try_wait().ok().flatten())
    }

    /// Sends a signal to the client (`KILL`, `INT`, …).
    pub fn signal(&mut self, sig: &str) {
        if let Some(c) = &self.child {
            let _ = Command::new("kill")
                .arg(format!("-{sig}"))
                .arg(c.id().to_string())
                .status();
        }
    }
}

impl Drop for Client {
    fn drop(&mut self) {
        if let Some(mut c) = self.child.take() {
            stop_child(&mut c, Duration::from_secs(3));
        }
    }
}

/// Last `n` lines of `text`.
pub fn tail(text: &str, n: usize) -> String {
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(n)..].join("\n")
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .is_ok_and(|o| o.stdout.starts_with(b"0"))
}

fn rand_u16() -> u16 {
    let mut b = [0u8; 2];
    if let Ok(mut f) = fs::File::open("/dev/urandom") {
        use std::io::Read as _;
        let _ = f.read_exact(&mut b);
    }
    u16::from_ne_bytes(b) ^ (std::process::id() as u16)
}
