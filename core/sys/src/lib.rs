//! Operating-system glue for wolfguard: the TUN device and the socket knobs the data path needs.
//!
//! ```text
//!   kernel routing ──► TUN queue 0 ──► data worker 0
//!                 └──► TUN queue 1 ──► data worker 1      (one IFF_MULTI_QUEUE fd per worker)
//! ```
//!
//! The device is created once with `IFF_MULTI_QUEUE`, and every data-path worker gets its own
//! queue (its own file descriptor), so no lock is shared between workers on the packet path.
//! This crate does not know about sessions, TLS or the protocol; it only creates and configures
//! OS objects. It is one of the two crates allowed to contain `unsafe` code (today it needs none:
//! tun-rs does the ioctls).

#![warn(missing_docs)]

mod nat;
mod tun;

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
