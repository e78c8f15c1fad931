#!/usr/bin/env bash
# Side-by-side benchmark: wolfguard against Debian's ocserv, driven by the same openconnect client.
#
#   netns wgb-s-XXXXXX (server)                       netns wgb-c-XXXXXX (client)
#   wolfguard | ocserv :443 ── 10.98.0.1 ═══ veth ═══ 10.98.0.2 ── openconnect
#   iperf3 -s (0.0.0.0)   server end of the tunnel ◄═══ CSTP/DTLS ═══► tun0 192.168.99.x
#
# Usage: sudo tests/bench/run.sh [--out FILE] [--duration SECS]
#   WOLFGUARD_BIN   wolfguard binary (default: target/release/wolfguard of this repository)
#   BENCH_LOGS      directory to copy all logs, configs and iperf3 JSON into before cleanup
#   BENCH_PERF      directory: record a `perf` CPU profile of the wolfguard server during each
#                   iperf3 run into it (MODE-DIRECTION-STREAMS.data; read with `perf report -i`)
#   BENCH_WG_EXTRA  a TOML file appended to wolfguard's configuration, e.g. a [plugins.<name>]
#                   table to measure the data path with a packet filter plugin loaded
#
# Measures, for each server in turn (wolfguard first, then ocserv), over TLS only (--no-dtls) and
# with DTLS (client default): connect time (median of 5), ping latency through the tunnel, iperf3
# throughput (1 and 4 streams, upload and download) and server CPU seconds per GB moved.
# Everything happens in two private network namespaces; a trap removes them, the processes it
# started (by PID) and its temporary directory on every exit. See docs/performance.md.
set -eEuo pipefail
trap 'echo "bench: failed at line $LINENO: $BASH_COMMAND" >&2' ERR

OUT=""
DUR=8
CONNECTS=5
POOL_NET=192.168.99.0
POOL_PREFIX=192.168.99.
USER_NAME=bench
USER_PASS=bench-secret-pw

usage() { awk 'NR > 1 && /^#/ { sub(/^# ?/, ""); print; next } NR > 1 { exit }' "$0"; }
while [ $# -gt 0 ]; do
    case "$1" in
    --out) OUT=${2:?--out needs a file}; shift 2 ;;
    --out=*) OUT=${1#--out=}; shift ;;
    --duration|-t) DUR=${2:?--duration needs seconds}; shift 2 ;;
    -h|--help) usage; exit 0 ;;
    *) echo "unknown argument: $1" >&2; usage >&2; exit 2 ;;
    esac
done
case "$DUR" in ''|*[!0-9]*) echo "--duration must be whole seconds" >&2; exit 2 ;; esac
[ "$DUR" -ge 2 ] && [ "$DUR" -le 20 ] || { echo "--duration must be 2..20 (the whole run must stay under 10 minutes)" >&2; exit 2; }

die() { echo "bench: $*" >&2; exit 1; }
log() { echo "bench: $*" >&2; }

[ "$(id -u)" = 0 ] || die "must run as root (network namespaces, TUN devices)"
for t in ip openssl openconnect ocserv iperf3 ping jq ss awk sort timeout lscpu; do
    command -v "$t" >/dev/null || die "missing tool: $t"
done
HERE=$(cd "$(dirname "$0")" && pwd)
REPO=$(cd "$HERE/../.." && pwd)
WG_BIN=${WOLFGUARD_BIN:-$REPO/target/release/wolfguard}
[ -x "$WG_BIN" ] || die "wolfguard binary not found at $WG_BIN: set WOLFGUARD_BIN or run 'cargo build --release -p wolfguard'"
OCSERV_BIN=$(command -v ocserv)
if [ -n "$OUT" ]; then
    : >"$OUT" || die "cannot write $OUT"
fi

# ---------------------------------------------------------------------------------------------
# Resources and cleanup
SUF=$(od -An -N3 -tx1 /dev/urandom | tr -d ' \n')
NS_S=wgb-s-$SUF
NS_C=wgb-c-$SUF
TMP=""
PIDS=()          # every background process we started (PIDs of the programs themselves)
WATCHDOG=""

descendants() { # PID... -> the PIDs and all their descendants, one per line
    cat /proc/[0-9]*/stat 2>/dev/null | awk -v roots="$*" '
        { l = $0; pid = $1; sub(/^.*\) /, "", l); split(l, f, " "); par[pid] = f[2] }
        END {
            n = split(roots, q, " "); for (i = 1; i <= n; i++) seen[q[i]] = 1
            changed = 1
            while (changed) { changed = 0
                for (p in par) if (!(p in seen) && (par[p] in seen)) { seen[p] = 1; changed = 1 } }
            for (p in seen) if (p in par) print p
        }'
}

alive() { # PID -> true while it exists and is not a zombie
    local st
    st=$(awk '{ l = $0; sub(/^.*\) /, "", l); print substr(l, 1, 1) }' "/proc/$1/stat" 2>/dev/null) || return 1
    [ -n "$st" ] && [ "$st" != Z ]
}

stop_pid() { # PID SIGNAL GRACE_SECONDS: signal the process, SIGKILL it and its tree after the grace
    local pid=$1 sig=$2 grace=$3 tree i
    tree=$(descendants "$pid")
    kill -"$sig" "$pid" 2>/dev/null || true
    for ((i = 0; i < grace * 20; i++)); do alive "$pid" || break; sleep 0.05; done
    for p in $tree; do alive "$p" && kill -KILL "$p" 2>/dev/null || true; done
    wait "$pid" 2>/dev/null || true
    local keep=()
    for p in "${PIDS[@]}"; do [ "$p" = "$pid" ] || keep+=("$p"); done
    PIDS=("${keep[@]}")
}

cleanup() {
    local rc=$?
    trap - EXIT INT TERM ERR
    set +e
    if [ -n "$WATCHDOG" ]; then kill "$WATCHDOG" 2>/dev/null; wait "$WATCHDOG" 2>/dev/null; fi
    if [ "${#PIDS[@]}" -gt 0 ]; then
        local all
        all=$(descendants "${PIDS[@]}")
        for p in "${PIDS[@]}"; do kill -TERM "$p" 2>/dev/null; done
        for _ in $(seq 60); do
            local any=0
            for p in $all; do alive "$p" && any=1; done
            [ $any = 0 ] && break
            sleep 0.05
        done
        for p in $all; do alive "$p" && kill -KILL "$p" 2>/dev/null; done
        for p in "${PIDS[@]}"; do wait "$p" 2>/dev/null; done
    fi
    if [ "$rc" != 0 ] && [ -n "$TMP" ] && [ -d "$TMP" ]; then
        local last
        last=$(ls -t "$TMP"/oc-*.log 2>/dev/null | head -n1)
        for f in "$TMP"/wolfguard.log "$TMP"/ocserv.log $last; do
            [ -f "$f" ] || continue
            echo "----- tail of $(basename "$f")" >&2
            tail -n 25 "$f" >&2
        done
    fi
    if [ -n "${BENCH_LOGS:-}" ] && [ -n "$TMP" ] && [ -d "$TMP" ]; then
        mkdir -p "$BENCH_LOGS" && cp "$TMP"/*.log "$TMP"/*.json "$TMP"/*.conf "$TMP"/*.toml "$BENCH_LOGS"/ 2>/dev/null
    fi
    ip netns del "$NS_C" 2>/dev/null
    ip netns del "$NS_S" 2>/dev/null
    [ -n "$TMP" ] && rm -rf "$TMP"
    exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# The whole run must end within 10 minutes, whatever happens.
# (The sleep must not hold our stdout open, and must die with the watchdog.)
(
    trap 'kill "$sp" 2>/dev/null; exit 0' TERM
    sleep 580 </dev/null >/dev/null 2>&1 &
    sp=$!
    wait "$sp"
    echo "bench: time limit reached, aborting" >&2
    kill -TERM $$
) &
WATCHDOG=$!

TMP=$(mktemp -d /tmp/wgbench.XXXXXX)
chmod 711 "$TMP"   # ocserv's workers run as nobody and reach sec-mod's socket in here

spawn() { # NS LOG CMD... : start CMD in NS, stdin from $BG_STDIN (default /dev/null); sets BG_PID
    local ns=$1 logf=$2; shift 2
    ip netns exec "$ns" "$@" <"${BG_STDIN:-/dev/null}" >"$logf" 2>&1 &
    BG_PID=$!
    PIDS+=("$BG_PID")
}

now_ns() { date +%s%N; }

# ---------------------------------------------------------------------------------------------
# Namespaces, credentials, iperf3 server
ip netns add "$NS_S"
ip netns add "$NS_C"
ip link add "vbs$SUF" netns "$NS_S" type veth peer name "vbc$SUF" netns "$NS_C"
ip -n "$NS_S" addr add 10.98.0.1/24 dev "vbs$SUF"
ip -n "$NS_C" addr add 10.98.0.2/24 dev "vbc$SUF"
for ns in "$NS_S" "$NS_C"; do
    ip -n "$ns" link set lo up
done
ip -n "$NS_S" link set "vbs$SUF" up
ip -n "$NS_C" link set "vbc$SUF" up

openssl req -x509 -nodes -days 2 -newkey ec -pkeyopt ec_paramgen_curve:P-256 \
    -subj /CN=wolfguard-bench -keyout "$TMP/server.key" -out "$TMP/server.crt" 2>/dev/null
chmod 600 "$TMP/server.key"
PIN="pin-sha256:$(openssl x509 -in "$TMP/server.crt" -pubkey -noout | openssl pkey -pubin -outform der |
    openssl dgst -sha256 -binary | openssl base64 -A)"
printf '%s:*:%s\n' "$USER_NAME" "$(openssl passwd -6 "$USER_PASS")" >"$TMP/passwd"
chmod 600 "$TMP/passwd"
printf '%s\n' "$USER_PASS" >"$TMP/password"

# Our own connect script (never touches resolv.conf or the default route): configures tun0,
# routes only the pool, records the environment, and writes the "tunnel up" marker last.
cat >"$TMP/client.sh" <<EOF
#!/bin/sh
case "\$reason" in
connect)
    ip link set dev "\$TUNDEV" up mtu "\${INTERNAL_IP4_MTU:-1400}"
    ip addr add "\$INTERNAL_IP4_ADDRESS/32" dev "\$TUNDEV"
    ip route add ${POOL_NET}/24 dev "\$TUNDEV"
    env | grep -E '^(INTERNAL_IP4_|TUNDEV|CISCO_)' > "$TMP/client.env"
    date +%s%N > "$TMP/up.tmp"
    mv "$TMP/up.tmp" "$TMP/up" ;;
esac
exit 0
EOF
chmod 755 "$TMP/client.sh"

spawn "$NS_S" "$TMP/iperf3-server.log" iperf3 -s -B 0.0.0.0
IPERF_PID=$BG_PID

# ---------------------------------------------------------------------------------------------
# Helpers

wait_file() { # FILE SECONDS
    local i
    for ((i = 0; i < $2 * 100; i++)); do [ -e "$1" ] && return 0; sleep 0.01; done
    return 1
}

wait_listen() { # PID SECONDS: until something listens on TCP :443 in the server namespace
    local i
    for ((i = 0; i < $2 * 20; i++)); do
        alive "$1" || return 1
        if ip netns exec "$NS_S" ss -Hltn 'sport = :443' | grep -q .; then return 0; fi
        sleep 0.05
    done
    return 1
}

tree_ticks() { # ROOT_PID -> utime+stime+cutime+cstime summed over the process and its descendants
    local pids
    pids=$(descendants "$1" | tr '\n' ' ')
    # shellcheck disable=SC2086
    (cd /proc && for p in $pids; do cat "$p/stat" 2>/dev/null || true; done) |
        awk '{ l = $0; sub(/^.*\) /, "", l); split(l, f, " "); t += f[12] + f[13] + f[14] + f[15] }
             END { printf "%d\n", t }'
}
CLK_TCK=$(getconf CLK_TCK)
busy_ticks() { awk '/^cpu / { print $2 + $3 + $4 + $7 + $8; exit }' /proc/stat; }  # user+nice+system+irq+softirq
steal_ticks() { awk '/^cpu / { print $9; exit }' /proc/stat; }  # time the hypervisor ran something else

OC_PID=""
start_client() { # LOG EXTRA_ARGS... : start openconnect; sets OC_PID, T0
    local logf=$1; shift
    rm -f "$TMP/up" "$TMP/client.env"
    T0=$(now_ns)
    BG_STDIN="$TMP/password" spawn "$NS_C" "$logf" openconnect --protocol=anyconnect --non-inter \
        --passwd-on-stdin -u "$USER_NAME" --servercert "$PIN" -s "$TMP/client.sh" -i tun0 -v --timestamp \
        "$@" https://10.98.0.1/
    OC_PID=$BG_PID
}

wait_up() { # LOG -> true when the tunnel is configured within 30 s
    local i
    for ((i = 0; i < 3000; i++)); do
        [ -e "$TMP/up" ] && return 0
        alive "$OC_PID" || { log "openconnect exited early, see below"; tail -n 30 "$1" >&2; return 1; }
        sleep 0.01
    done
    log "tunnel not up in 30 s"; tail -n 30 "$1" >&2
    return 1
}

stop_client() {
    [ -n "$OC_PID" ] || return 0
    stop_pid "$OC_PID" INT 5    # SIGINT: openconnect logs out (the session ends on the server)
    OC_PID=""
    local i
    for ((i = 0; i < 100; i++)); do ip -n "$NS_C" link show tun0 >/dev/null 2>&1 || break; sleep 0.05; done
}

median() { sort -n | awk '{ a[NR] = $1 } END { if (NR % 2) print a[(NR + 1) / 2]; else print (a[NR / 2] + a[NR / 2 + 1]) / 2 }'; }

tunnel_target() { # the server end of the tunnel: a local address of the server namespace in the pool
    ip -n "$NS_S" -o -4 addr show | awk -v pre="$POOL_PREFIX" '{ split($4, a, "/"); if (index(a[1], pre) == 1) { print a[1]; exit } }'
}

declare -A V       # V[server.key] = value (or "n/a …")
declare -A NOTE    # NOTE[server.what] = text

measure_mode() { # SRV SRV_PID MODE(tls|dtls)
    local srv=$1 spid=$2 mode=$3 logf="$TMP/oc-$1-$3.log" extra=() target i
    [ "$mode" = tls ] && extra=(--no-dtls)
    start_client "$logf" "${extra[@]}"
    wait_up "$logf" || return 1
    if [ "$mode" = dtls ]; then
        for ((i = 0; i < 100; i++)); do
            grep -q 'Established DTLS connection' "$logf" && break
            sleep 0.05
        done
        if ! grep -q 'Established DTLS connection' "$logf"; then
            log "$srv: no DTLS connection established within 5 s: DTLS cells are n/a"
            for k in ping_avg ping_mdev up1 up4 down1 down4 cpu_up1 cpu_up4 cpu_down1 cpu_down4; do
                V[$srv.dtls.$k]="n/a (no DTLS)"
            done
            NOTE[$srv.dtls]="no DTLS: $(grep -m1 -iE 'dtls' "$logf" || echo 'no DTLS line in the client log')"
            stop_client
            return 0
        fi
        NOTE[$srv.dtls]=$(grep -m1 -o 'Established DTLS connection.*' "$logf")
    else
        NOTE[$srv.tls]=$(grep -o 'Connected to HTTPS on .*' "$logf" | tail -n1)
    fi
    NOTE[$srv.$mode.mtu]=$(ip -n "$NS_C" -o link show tun0 | grep -o 'mtu [0-9]*')
    target=$(tunnel_target)
    [ -n "$target" ] || { log "$srv: no pool address found in the server namespace"; ip -n "$NS_S" -o -4 addr show >&2; return 1; }
    NOTE[$srv.target]=$target
    sleep 0.5

    # Latency.
    local pout
    pout=$(ip netns exec "$NS_C" timeout 20 ping -n -c 50 -i 0.02 -W 2 "$target") || { log "$srv/$mode: ping failed"; echo "$pout" >&2; return 1; }
    V[$srv.$mode.ping_avg]=$(echo "$pout" | awk -F'[/ ]+' '/^rtt/ { printf "%.3f", $8 }')
    V[$srv.$mode.ping_mdev]=$(echo "$pout" | awk -F'[/ ]+' '/^rtt/ { printf "%.3f", $10 }')
    NOTE[$srv.$mode.loss]=$(echo "$pout" | grep -o '[0-9.]*% packet loss')

    # Throughput and server CPU per GB.
    local n dir rflag key json before after bytes bps
    for dir in up down; do
        for n in 1 4; do
            key=$dir$n
            rflag=(); [ "$dir" = down ] && rflag=(-R)
            json="$TMP/iperf-$srv-$mode-$key.json"
            before=$(tree_ticks "$spid")
            local perf_pid=""
            if [ -n "${BENCH_PERF:-}" ] && [ "$srv" = wolfguard ] && command -v perf >/dev/null; then
                mkdir -p "$BENCH_PERF"
                perf record -q -F 499 -g -p "$spid" -o "$BENCH_PERF/$mode-$key.data" -- sleep "$DUR" \
                    >/dev/null 2>&1 &
                perf_pid=$!
            fi
            if ! ip netns exec "$NS_C" timeout $((DUR + 30)) iperf3 -c "$target" -t "$DUR" -P "$n" \
                "${rflag[@]}" -J >"$json" 2>"$json.err"; then
                log "$srv/$mode/$key: iperf3 failed: $(jq -r '.error // empty' "$json" 2>/dev/null) $(cat "$json.err")"
                V[$srv.$mode.$key]="fail"; V[$srv.$mode.cpu_$key]="fail"
                continue
            fi
            after=$(tree_ticks "$spid")
            [ -n "$perf_pid" ] && wait "$perf_pid" 2>/dev/null
            bytes=$(jq '.end.sum_received.bytes' "$json")
            bps=$(jq '.end.sum_received.bits_per_second' "$json")
            V[$srv.$mode.$key]=$(awk -v b="$bps" 'BEGIN { printf "%.0f", b / 1e6 }')
            V[$srv.$mode.cpu_$key]=$(awk -v t=$((after - before)) -v hz="$CLK_TCK" -v by="$bytes" \
                'BEGIN { if (by > 0) printf "%.2f", (t / hz) / (by / 1e9); else print "fail" }')
            log "$srv/$mode/$key: ${V[$srv.$mode.$key]} Mbit/s, $((after - before)) ticks, $bytes bytes"
        done
    done
    stop_client
}

connect_times() { # SRV MODE(tls|dtls): median of $CONNECTS connects, from exec to the "up" marker
    local srv=$1 mode=$2 i t logf extra=() times=() dtls=0
    [ "$mode" = tls ] && extra=(--no-dtls)
    for ((i = 1; i <= CONNECTS; i++)); do
        logf="$TMP/oc-$srv-connect-$mode$i.log"
        start_client "$logf" "${extra[@]}"
        wait_up "$logf" || return 1
        t=$(cat "$TMP/up")
        times+=("$(( (t - T0) / 1000 ))")   # µs
        grep -q 'Established DTLS connection' "$logf" && dtls=$((dtls + 1))
        stop_client
        sleep 0.3
    done
    NOTE[$srv.connects.$mode]="$(printf '%s ' "${times[@]}" | awk '{ for (i = 1; i <= NF; i++) printf "%s%.1f", (i > 1 ? ", " : ""), $i / 1000 }') ms"
    if [ "$mode" = dtls ] && [ "$dtls" -lt "$CONNECTS" ]; then
        V[$srv.connect_$mode]="n/a (no DTLS)"
        NOTE[$srv.connects.$mode]+=" (DTLS established in $dtls of $CONNECTS)"
    else
        V[$srv.connect_$mode]=$(printf '%s\n' "${times[@]}" | median | awk '{ printf "%.1f", $1 / 1000 }')
    fi
    log "$srv: connect times ($mode) ${NOTE[$srv.connects.$mode]}"
}


run_server() { # SRV: start it, measure everything, stop it
    local srv=$1 spid sys0 own0 t0 sys1 own1 t1 st0 st1
    NOTE[$srv.load_before]=$(cut -d' ' -f1-3 /proc/loadavg)
    # CPU time used on the machine outside this script's process tree (other people's builds…)
    sys0=$(busy_ticks); own0=$(tree_ticks $$); t0=$(now_ns); st0=$(steal_ticks)
    if [ "$srv" = wolfguard ]; then
        mkdir -p "$TMP/wg-state"
        cat >"$TMP/wolfguard.toml" <<EOF
[server]
listen = ["0.0.0.0:443"]
certificate = "$TMP/server.crt"
private_key = "$TMP/server.key"
state_dir = "$TMP/wg-state"
workers = ${BENCH_WORKERS:-0}
max_same_clients = 0

[network]
ipv4_pool = "${POOL_NET}/24"

[auth]
password_file = "$TMP/passwd"

[logging]
level = "warn"
format = "compact"
EOF
        if [ -n "${BENCH_WG_EXTRA:-}" ]; then
            cat "$BENCH_WG_EXTRA" >>"$TMP/wolfguard.toml"
        fi
        spawn "$NS_S" "$TMP/wolfguard.log" "$WG_BIN" --config "$TMP/wolfguard.toml"
    else
        mkdir -p "$TMP/run"
        chmod 711 "$TMP/run"
        cat >"$TMP/ocserv.conf" <<EOF
auth = "plain[passwd=$TMP/passwd]"
tcp-port = 443
udp-port = 443
run-as-user = nobody
run-as-group = nogroup
socket-file = $TMP/run/ocserv-socket
pid-file = $TMP/run/ocserv.pid
use-occtl = false
server-cert = $TMP/server.crt
server-key = $TMP/server.key
isolate-workers = false
max-clients = 16
max-same-clients = 0
rate-limit-ms = 0
max-ban-score = 0
keepalive = 32400
dpd = 90
mobile-dpd = 1800
cookie-timeout = 300
rekey-time = 172800
rekey-method = ssl
device = vpns
ipv4-network = $POOL_NET
ipv4-netmask = 255.255.255.0
cisco-client-compat = true
tls-priorities = "NORMAL:%SERVER_PRECEDENCE"
EOF
        spawn "$NS_S" "$TMP/ocserv.log" "$OCSERV_BIN" -f -d 1 -c "$TMP/ocserv.conf"
    fi
    spid=$BG_PID
    wait_listen "$spid" 20 || die "$srv did not start listening on :443 (log: see below)"
    log "$srv started (pid $spid)"
    connect_times "$srv" tls || die "$srv: connect failed"
    connect_times "$srv" dtls || die "$srv: connect failed"
    measure_mode "$srv" "$spid" tls || die "$srv: TLS measurements failed"
    measure_mode "$srv" "$spid" dtls || die "$srv: DTLS measurements failed"
    NOTE[$srv.load_after]=$(cut -d' ' -f1-3 /proc/loadavg)
    sys1=$(busy_ticks); own1=$(tree_ticks $$); t1=$(now_ns); st1=$(steal_ticks)
    NOTE[$srv.foreign]=$(awk -v s=$((sys1 - sys0)) -v o=$((own1 - own0)) -v hz="$CLK_TCK" -v w=$(( (t1 - t0) / 1000000 )) -v st=$((st1 - st0)) \
        'BEGIN { f = (s - o) / hz; if (f < 0) f = 0; printf "machine busy %.1f CPU-s, benchmark processes %.1f CPU-s, other %.1f CPU-s, steal %.1f CPU-s, in %.0f s", s / hz, o / hz, f, st / hz, w / 1000 }')
    stop_pid "$spid" TERM 10
    for ((i = 0; i < 100; i++)); do
        ip netns exec "$NS_S" ss -Hltn 'sport = :443' | grep -q . || break
        sleep 0.05
    done
}

# ---------------------------------------------------------------------------------------------
# Run
START=$(date -u '+%Y-%m-%d %H:%M UTC')
CPU_MODEL=$(lscpu | awk -F: '/^Model name/ { gsub(/^ +/, "", $2); print $2; exit }')
NCPU=$(nproc)
KERNEL=$(uname -r)
WG_VER="$("$WG_BIN" --version 2>/dev/null | head -n1) ($WG_BIN, built $(date -u -r "$WG_BIN" '+%Y-%m-%d %H:%M UTC'))"
OCSERV_VER=$("$OCSERV_BIN" --version 2>&1 | grep -m1 . || true)
OC_VER=$(openconnect --version 2>/dev/null | head -n1)
IPERF_VER=$(iperf3 --version 2>/dev/null | head -n1 | awk '{ print $1, $2 }')
LOAD0=$(cut -d' ' -f1-3 /proc/loadavg)
b0=$(busy_ticks); sleep 1; b1=$(busy_ticks)
IDLE_BUSY=$(awk -v t=$((b1 - b0)) -v hz="$CLK_TCK" 'BEGIN { printf "%.2f", t / hz }')
awk -v b="$IDLE_BUSY" 'BEGIN { exit !(b > 0.2) }' &&
    log "warning: the machine was busy ($IDLE_BUSY CPU-s in the second before the start): other work skews the numbers"

run_server wolfguard
run_server ocserv
alive "$IPERF_PID" && stop_pid "$IPERF_PID" TERM 3

# ---------------------------------------------------------------------------------------------
# Report
ROWS=(
    "connect_tls|TLS connect time, median of $CONNECTS (ms)|lower"
    "connect_dtls|DTLS connect time, median of $CONNECTS (ms)|lower"
)
for mode in tls dtls; do
    M=$([ $mode = tls ] && echo "TLS" || echo "DTLS")
    ROWS+=(
        "$mode.ping_avg|$M ping avg (ms)|lower"
        "$mode.ping_mdev|$M ping mdev (ms)|lower"
        "$mode.up1|$M upload 1 stream (Mbit/s)|higher"
        "$mode.up4|$M upload 4 streams (Mbit/s)|higher"
        "$mode.down1|$M download 1 stream (Mbit/s)|higher"
        "$mode.down4|$M download 4 streams (Mbit/s)|higher"
        "$mode.cpu_up1|$M server CPU s/GB, upload 1 stream|lower"
        "$mode.cpu_up4|$M server CPU s/GB, upload 4 streams|lower"
        "$mode.cpu_down1|$M server CPU s/GB, download 1 stream|lower"
        "$mode.cpu_down4|$M server CPU s/GB, download 4 streams|lower"
    )
done

isnum() { [[ $1 =~ ^[0-9]+(\.[0-9]+)?$ ]]; }
ratio() {
    if isnum "$1" && isnum "$2"; then
        awk -v a="$1" -v b="$2" 'BEGIN { if (b > 0) printf "%.2f", a / b; else print "n/a" }'
    else echo "n/a"; fi
}

TSV="$TMP/table.tsv"
{
    printf 'Metric\tBetter\twolfguard\tocserv\twolfguard/ocserv\n'
    for r in "${ROWS[@]}"; do
        IFS='|' read -r key label better <<<"$r"
        a=${V[wolfguard.$key]:-n/a}; b=${V[ocserv.$key]:-n/a}
        printf '%s\t%s\t%s\t%s\t%s\n' "$label" "$better" "$a" "$b" "$(ratio "$a" "$b")"
    done
} >"$TSV"

notes() {
    echo "Run: $START; ${DUR} s per iperf3 run; client and server share the same $NCPU CPUs"
    echo "CPU: $CPU_MODEL, $NCPU CPUs; kernel $KERNEL; no sysctl or kernel tuning for either server"
    echo "Machine busy in the second before the start: $IDLE_BUSY CPU-s"
    echo "Load average (1/5/15 min; includes the benchmark itself): at start $LOAD0; wolfguard phase ${NOTE[wolfguard.load_before]} -> ${NOTE[wolfguard.load_after]}; ocserv phase ${NOTE[ocserv.load_before]} -> ${NOTE[ocserv.load_after]}"
    echo "CPU use during each phase (/proc/stat user+system+irq+softirq vs this script's process tree; other = everything else, kernel threads and interrupts included): wolfguard: ${NOTE[wolfguard.foreign]}; ocserv: ${NOTE[ocserv.foreign]}"
    echo "wolfguard: $WG_VER"
    echo "ocserv: $OCSERV_VER; client: $OC_VER; $IPERF_VER"
    for s in wolfguard ocserv; do
        echo "$s: iperf3 target ${NOTE[$s.target]:-?}; connect times TLS ${NOTE[$s.connects.tls]:-?}; DTLS ${NOTE[$s.connects.dtls]:-?}"
        echo "$s TLS: ${NOTE[$s.tls]:-?}; tun0 ${NOTE[$s.tls.mtu]:-?}; ping loss ${NOTE[$s.tls.loss]:-?}"
        echo "$s DTLS: ${NOTE[$s.dtls]:-?}; tun0 ${NOTE[$s.dtls.mtu]:-n/a}; ping loss ${NOTE[$s.dtls.loss]:-n/a}"
    done
}

HEADER="wolfguard vs ocserv — Mbit/s: higher is better; ms and server CPU s/GB: lower is better. Ratio = wolfguard/ocserv."
echo
echo "$HEADER"
column -t -s $'\t' "$TSV"
echo
notes | sed 's/^/  /'

if [ -n "$OUT" ]; then
    {
        echo "$HEADER"
        echo
        awk -F'\t' 'NR == 1 { print "| " $1 " | " $2 " | " $3 " | " $4 " | " $5 " |"; print "|---|---|--:|--:|--:|"; next }
                    { print "| " $1 " | " $2 " | " $3 " | " $4 " | " $5 " |" }' "$TSV"
        echo
        notes | sed 's/^/- /'
    } >"$OUT"
    log "Markdown written to $OUT"
fi
