//! Batched UDP I/O: `recvmmsg` and `sendmmsg`, so the DTLS data path pays one system call per
//! batch of datagrams instead of one per datagram, and socket buffers sized past
//! `net.core.rmem_max` when the daemon may (`SO_RCVBUFFORCE` needs `CAP_NET_ADMIN`).
//!
//! Both calls are non-blocking (`MSG_DONTWAIT`); the caller waits for readiness with its
//! runtime and retries on `WouldBlock`.

use std::io;
use std::net::SocketAddr;
use std::os::fd::{AsRawFd, BorrowedFd};

/// How many datagrams one [`recv_batch`] or [`send_batch`] call moves at most.
pub const BATCH: usize = 32;

/// Receive buffers for [`recv_batch`]: [`BATCH`] slots of `slot` bytes each, and where each
/// datagram came from.
pub struct RecvBatch {
    buf: Vec<u8>,
    slot: usize,
    count: usize,
    lens: [usize; BATCH],
    truncated: [bool; BATCH],
    addrs: Box<[libc::sockaddr_storage; BATCH]>,
    addr_lens: [libc::socklen_t; BATCH],
}

impl std::fmt::Debug for RecvBatch {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RecvBatch")
            .field("slot", &self.slot)
            .finish_non_exhaustive()
    }
}

impl RecvBatch {
    /// Buffers for datagrams of up to `slot` bytes (larger ones arrive truncated and are
    /// reported as such).
    pub fn new(slot: usize) -> Self {
        Self::with_count(slot, BATCH)
    }

    /// Buffers for at most `count` (≤ [`BATCH`]) datagrams of up to `slot` bytes: a smaller
    /// batch for per-tunnel sockets, where memory per session matters more than batch size.
    pub fn with_count(slot: usize, count: usize) -> Self {
        let count = count.clamp(1, BATCH);
        Self {
            buf: vec![0; slot * count],
            slot,
            count,
            lens: [0; BATCH],
            truncated: [false; BATCH],
            // SAFETY: sockaddr_storage is plain old data; all-zero is a valid (AF_UNSPEC) value.
            addrs: Box::new(unsafe { std::mem::zeroed() }),
            addr_lens: [0; BATCH],
        }
    }

    /// Datagram `i` of the last [`recv_batch`]: its bytes and its sender, or `None` when it
    /// was truncated or its address is not IPv4/IPv6.
    pub fn get(&self, i: usize) -> Option<(&[u8], SocketAddr)> {
        if i >= self.count || self.truncated[i] {
            return None;
        }
        let start = i * self.slot;
        let data = &self.buf[start..start + self.lens[i].min(self.slot)];
        Some((data, socket_addr(&self.addrs[i], self.addr_lens[i])?))
    }
}

/// The IPv4 or IPv6 address the kernel wrote into `s` (`len` bytes of it).
fn socket_addr(s: &libc::sockaddr_storage, len: libc::socklen_t) -> Option<SocketAddr> {
    let len = len as usize;
    match libc::c_int::from(s.ss_family) {
        libc::AF_INET if len >= std::mem::size_of::<libc::sockaddr_in>() => {
            // SAFETY: the family says the storage holds a sockaddr_in, which it is large and
            // aligned enough for.
            let a = unsafe { &*std::ptr::from_ref(s).cast::<libc::sockaddr_in>() };
            let ip = std::net::Ipv4Addr::from(u32::from_be(a.sin_addr.s_addr));
            Some(SocketAddr::from((ip, u16::from_be(a.sin_port))))
        }
        libc::AF_INET6 if len >= std::mem::size_of::<libc::sockaddr_in6>() => {
            // SAFETY: as above, for sockaddr_in6.
            let a = unsafe { &*std::ptr::from_ref(s).cast::<libc::sockaddr_in6>() };
            let ip = std::net::Ipv6Addr::from(a.sin6_addr.s6_addr);
            Some(SocketAddr::V6(std::net::SocketAddrV6::new(
                ip,
                u16::from_be(a.sin6_port),
                a.sin6_flowinfo,
                a.sin6_scope_id,
            )))
        }
        _ => None,
    }
}

/// Receives up to [`BATCH`] datagrams from `fd` without blocking; returns how many arrived.
pub fn recv_batch(fd: BorrowedFd<'_>, batch: &mut RecvBatch) -> io::Result<usize> {
    let slot = batch.slot;
    let count = batch.count;
    let mut iovecs: [libc::iovec; BATCH] = [libc::iovec {
        iov_base: std::ptr::null_mut(),
        iov_len: 0,
    }; BATCH];
    // SAFETY: mmsghdr is plain old data; all-zero is a valid (empty) value.
    let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
    let base = batch.buf.as_mut_ptr();
    for (i, (iov, msg)) in iovecs
        .iter_mut()
        .zip(msgs.iter_mut())
        .enumerate()
        .take(count)
    {
        // SAFETY: i < count, so i * slot + slot ≤ buf.len() = slot * count: in bounds.
        iov.iov_base = unsafe { base.add(i * slot) }.cast();
        iov.iov_len = slot;
        msg.msg_hdr.msg_name = std::ptr::from_mut(&mut batch.addrs[i]).cast();
        msg.msg_hdr.msg_namelen = std::mem::size_of::<libc::sockaddr_storage>() as libc::socklen_t;
        msg.msg_hdr.msg_iov = iov;
        msg.msg_hdr.msg_iovlen = 1;
    }
    // SAFETY: every mmsghdr points at a live iovec into batch.buf and at a sockaddr_storage of
    // the size given; the arrays outlive the call; MSG_DONTWAIT makes it non-blocking.
    let n = unsafe {
        libc::recvmmsg(
            fd.as_raw_fd(),
            msgs.as_mut_ptr(),
            count as libc::c_uint,
            libc::MSG_DONTWAIT,
            std::ptr::null_mut(),
        )
    };
    if n < 0 {
        return Err(io::Error::last_os_error());
    }
    let n = n as usize;
    for (i, msg) in msgs.iter().enumerate().take(n) {
        batch.lens[i] = msg.msg_len as usize;
        batch.truncated[i] = msg.msg_hdr.msg_flags & libc::MSG_TRUNC != 0;
        batch.addr_lens[i] = msg.msg_hdr.msg_namelen;
    }
    Ok(n)
}

/// Sends the datagrams laid out back to back in `flat` (lengths in `lens`) to `peer`, up to
/// [`BATCH`] per system call, without blocking. Returns how many were sent; the rest did not
/// fit the socket buffer (`WouldBlock` only when none did).
pub fn send_batch(
    fd: BorrowedFd<'_>,
    peer: SocketAddr,
    flat: &[u8],
    lens: &[usize],
) -> io::Result<usize> {
    let addr = socket2::SockAddr::from(peer);
    let mut sent = 0;
    let mut offset = 0;
    for chunk in lens.chunks(BATCH) {
        let mut iovecs: [libc::iovec; BATCH] = [libc::iovec {
            iov_base: std::ptr::null_mut(),
            iov_len: 0,
        }; BATCH];
        // SAFETY: mmsghdr is plain old data; all-zero is a valid (empty) value.
        let mut msgs: [libc::mmsghdr; BATCH] = unsafe { std::mem::zeroed() };
        for (i, &len) in chunk.iter().enumerate() {
            let Some(bytes) = flat.get(offset..offset + len) else {
                return Err(io::Error::new(
                    io::ErrorKind::InvalidInput,
                    "lengths exceed buffer",
                ));
            };
            offset += len;
            iovecs[i].iov_base = bytes.as_ptr().cast_mut().cast();
            iovecs[i].iov_len = len;
            msgs[i].msg_hdr.msg_name = addr.as_ptr().cast_mut().cast();
            msgs[i].msg_hdr.msg_namelen = addr.len();
            msgs[i].msg_hdr.msg_iov = &mut iovecs[i];
            msgs[i].msg_hdr.msg_iovlen = 1;
        }
        // SAFETY: the first chunk.len() headers point at live iovecs over `flat` (which the
        // kernel only reads) and at `addr`; all outlive the call; MSG_DONTWAIT: non-blocking.
        let n = unsafe {
            libc::sendmmsg(
                fd.as_raw_fd(),
                msgs.as_mut_ptr(),
                chunk.len() as libc::c_uint,
                libc::MSG_DONTWAIT,
            )
        };
        if n < 0 {
            let e = io::Error::last_os_error();
            return if sent > 0 { Ok(sent) } else { Err(e) };
        }
        sent += n as usize;
        if (n as usize) < chunk.len() {
            break;
        }
    }
    Ok(sent)
}

/// A UDP socket of one client's DTLS flow: bound to the server address the flow arrived on
/// (with `SO_REUSEPORT`, beside the listening sockets) and connected to the client. Linux then
/// delivers that client's datagrams to this socket only — connected sockets outrank the
/// reuseport group — so the tunnel that owns it reads them on its own thread, with no hand-off
/// (ocserv connects its per-session UDP socket the same way).
pub fn udp_connected(
    local: SocketAddr,
    peer: SocketAddr,
    buffer: usize,
) -> io::Result<std::net::UdpSocket> {
    use socket2::{Domain, Protocol, Socket, Type};
    use std::os::fd::AsFd as _;
    let socket = Socket::new(Domain::for_address(local), Type::DGRAM, Some(Protocol::UDP))?;
    socket.set_reuse_port(true)?;
    if local.is_ipv6() {
        socket.set_only_v6(true)?;
    }
    force_buffer(socket.as_fd(), false, buffer);
    force_buffer(socket.as_fd(), true, buffer);
    socket.set_nonblocking(true)?;
    socket.bind(&local.into())?;
    socket.connect(&peer.into())?;
    Ok(socket.into())
}

/// Sets a socket buffer to `bytes`, past `net.core.{r,w}mem_max` when the process has
/// `CAP_NET_ADMIN` (the `*FORCE` options), otherwise as far as the limit allows. Returns the
/// size the kernel reports afterwards (twice what was granted, as Linux books overhead).
pub fn force_buffer(fd: BorrowedFd<'_>, send: bool, bytes: usize) -> usize {
    let (force, plain) = if send {
        (libc::SO_SNDBUFFORCE, libc::SO_SNDBUF)
    } else {
        (libc::SO_RCVBUFFORCE, libc::SO_RCVBUF)
    };
    let value = libc::c_int::try_from(bytes).unwrap_or(libc::c_int::MAX);
    let len = std::mem::size_of::<libc::c_int>() as libc::socklen_t;
    for opt in [force, plain] {
        // SAFETY: value is a live c_int of the given length; fd is a valid socket.
        let rc = unsafe {
            libc::setsockopt(
                fd.as_raw_fd(),
                libc::SOL_SOCKET,
                opt,
                std::ptr::from_ref(&value).cast(),
                len,
            )
        };
        if rc == 0 {
            break;
        }
    }
    let mut got: libc::c_int = 0;
    let mut got_len = len;
    // SAFETY: got/got_len are live out-parameters of the right size.
    let rc = unsafe {
        libc::getsockopt(
            fd.as_raw_fd(),
            libc::SOL_SOCKET,
            plain,
            std::ptr::from_mut(&mut got).cast(),
            &mut got_len,
        )
    };
    if rc == 0 { got.max(0) as usize } else { 0 }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::os::fd::AsFd;

    #[test]
    fn a_batch_goes_out_in_one_call_and_comes_back_in_one_call() {
        let a = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let b = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let lens: Vec<usize> = (0..40).map(|i| 100 + i).collect();
        let flat: Vec<u8> = lens
            .iter()
            .enumerate()
            .flat_map(|(i, &l)| std::iter::repeat_n(i as u8, l))
            .collect();
        let sent = send_batch(a.as_fd(), b.local_addr().unwrap(), &flat, &lens).unwrap();
        assert_eq!(sent, 40);
        let mut batch = RecvBatch::new(128);
        let mut got = Vec::new();
        for _ in 0..10 {
            match recv_batch(b.as_fd(), &mut batch) {
                Ok(n) => {
                    for i in 0..n {
                        got.push(batch.get(i).map(|(d, from)| (d.to_vec(), from)));
                    }
                }
                Err(e) if e.kind() == io::ErrorKind::WouldBlock => break,
                Err(e) => panic!("{e}"),
            }
            if got.len() == 40 {
                break;
            }
        }
        assert_eq!(got.len(), 40);
        // Datagrams longer than the slot are reported as truncated, not delivered cut.
        for (i, g) in got.iter().enumerate() {
            let len = 100 + i;
            if len > 128 {
                assert!(g.is_none(), "datagram {i} of {len} bytes must be refused");
            } else {
                let (d, from) = g.as_ref().unwrap();
                assert_eq!(d.len(), len);
                assert!(d.iter().all(|&x| x == i as u8));
                assert_eq!(*from, a.local_addr().unwrap());
            }
        }
    }

    #[test]
    fn nothing_to_read_is_would_block_and_bad_lengths_are_refused() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mut batch = RecvBatch::new(64);
        let e = recv_batch(s.as_fd(), &mut batch).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::WouldBlock);
        assert!(batch.get(BATCH).is_none());
        let e = send_batch(s.as_fd(), s.local_addr().unwrap(), &[0; 10], &[11]).unwrap_err();
        assert_eq!(e.kind(), io::ErrorKind::InvalidInput);
    }

    #[test]
    fn a_connected_socket_takes_its_peers_datagrams_from_the_reuseport_group() {
        let group = crate::udp_socket("127.0.0.1:0".parse().unwrap(), 1 << 16).unwrap();
        let local = group.local_addr().unwrap();
        let client = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let other = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let mine = udp_connected(local, client.local_addr().unwrap(), 1 << 16).unwrap();
        client.send_to(b"for the tunnel", local).unwrap();
        other.send_to(b"for the group", local).unwrap();
        std::thread::sleep(std::time::Duration::from_millis(50));
        let mut batch = RecvBatch::with_count(64, 4);
        let n = recv_batch(mine.as_fd(), &mut batch).unwrap();
        assert_eq!(n, 1);
        assert_eq!(batch.get(0).unwrap().0, b"for the tunnel");
        let n = recv_batch(group.as_fd(), &mut batch).unwrap();
        assert_eq!(n, 1);
        assert_eq!(batch.get(0).unwrap().0, b"for the group");
        assert!(batch.get(4).is_none());
    }

    #[test]
    fn buffers_grow_as_far_as_allowed() {
        let s = std::net::UdpSocket::bind("127.0.0.1:0").unwrap();
        let before = force_buffer(s.as_fd(), false, 0);
        let after = force_buffer(s.as_fd(), false, 4 << 20);
        assert!(after >= before, "{before} → {after}");
    }
}
