//! Operating-system glue for wolfguard: the TUN device and the socket knobs the data path needs.
//!
//! ```text
//!   kernel routing ──► TUN queue 0 ──► data worker 0
//!                 └──► TUN queue 1 ──► data worker 1      (one IFF_MULTI_QUEUE fd per worker)
//! ```
//!
//! The device is created once with `IFF_MULTI_QUEUE`, and every data-path worker gets its own
//! queue (its own file descriptor), so no lock is shared between workers on the packet path.
//! UDP moves in batches ([`udp`]: `recvmmsg`/`sendmmsg`). This crate does not know about
//! sessions, TLS or the protocol; it only creates and configures OS objects. It is one of the two
//! crates allowed to contain `unsafe` code (the batched socket calls; tun-rs does the ioctls).

#![warn(missing_docs)]

mod nat;
mod tun;
// The batched socket calls need raw libc; every block carries its SAFETY argument.
#[allow(unsafe_code)]
pub mod udp;

pub use nat::{NatConfig, NatGuard};
pub use tun::{TunConfig, TunQueues};
/// The per-queue device types, re-exported so the daemon needs no direct tun-rs dependency.
pub use tun_rs::{AsyncDevice, SyncDevice};

/// A listening TCP socket for the VPN front end. IPv6 sockets are IPv6-only, so `0.0.0.0:443`
/// and `[::]:443` can both be listed (Linux otherwise lets the IPv6 one claim IPv4 too and the
/// second bind fails with "address in use").
pub fn tcp_listener(addr: std::net::SocketAddr) -> std::io::Result<std::net::TcpListener> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::STREAM, Some(Protocol::TCP))?;
    socket.set_reuse_address(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    socket.listen(1024)?;
    Ok(socket.into())
}

/// A UDP socket for the DTLS channel: `SO_REUSEPORT`, so every data-path worker binds its own on
/// the same address and the kernel spreads flows across them, IPv6-only for IPv6 addresses, and
/// with large buffers so bursts are not dropped at the socket (capped by `net.core.rmem_max` and
/// `wmem_max`).
pub fn udp_socket(
    addr: std::net::SocketAddr,
    buffer: usize,
) -> std::io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    let socket = Socket::new(Domain::for_address(addr), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if addr.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    // Best effort: a smaller buffer than asked only costs drops under load. As root the daemon
    // may go past net.core.rmem_max (ocserv, which does not, drops upload datagrams here).
    {
        use std::os::fd::AsFd as _;
        udp::force_buffer(socket.as_fd(), false, buffer);
        udp::force_buffer(socket.as_fd(), true, buffer);
    }
    socket.set_nonblocking(true)?;
    socket.bind(&addr.into())?;
    Ok(socket.into())
}

/// Raises the soft limit on open files to the hard limit and returns the new soft limit. Every
/// tunnel holds a TCP socket and, with DTLS, a UDP socket of its own, so the usual soft limit of
/// 1024 would cap the server at a few hundred users long before anything else does.
pub fn raise_fd_limit() -> std::io::Result<u64> {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: lim is a valid out-parameter for getrlimit.
    #[allow(unsafe_code)]
    let rc = unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) };
    if rc != 0 {
        return Err(std::io::Error::last_os_error());
    }
    if lim.rlim_cur < lim.rlim_max {
        lim.rlim_cur = lim.rlim_max;
        // SAFETY: lim holds valid limits (soft = hard); setrlimit only reads it.
        #[allow(unsafe_code)]
        let rc = unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &lim) };
        if rc != 0 {
            return Err(std::io::Error::last_os_error());
        }
    }
    Ok(lim.rlim_cur)
}

#[cfg(test)]
mod limit_tests {
    #[test]
    fn the_fd_limit_ends_at_the_hard_limit() {
        let soft = super::raise_fd_limit().unwrap();
        let again = super::raise_fd_limit().unwrap();
        assert_eq!(soft, again);
        assert!(soft >= 1024);
    }
}
