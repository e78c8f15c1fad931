//! The server's TUN device, one queue per data-path worker.

use std::io;
use std::net::{Ipv4Addr, Ipv6Addr};

use tun_rs::{DeviceBuilder, SyncDevice};

/// What the server's TUN device looks like.
#[derive(Debug, Clone)]
pub struct TunConfig {
    /// Interface name, at most 15 bytes.
    pub name: String,
    /// Interface MTU: the largest tunnel payload any session may carry.
    pub mtu: u16,
    /// The server's own address in the IPv4 pool, with the pool's prefix length.
    pub ipv4: Option<(Ipv4Addr, u8)>,
    /// The server's own address in the IPv6 pool, with the pool's prefix length.
    pub ipv6: Option<(Ipv6Addr, u8)>,
    /// How many queues to open (one per data-path worker), at least 1.
    pub queues: usize,
}

/// The opened queues of the device, to be handed one to each worker.
///
/// The queues are blocking `SyncDevice`s so they can be moved to the worker threads; each worker
/// turns its own into an async device inside its runtime.
pub struct TunQueues {
    /// The interface name the kernel gave the device.
    pub name: String,
    /// One queue per worker.
    pub queues: Vec<SyncDevice>,
}

impl TunQueues {
    /// Creates the device, assigns the server addresses, brings it up and opens the queues.
    pub fn create(config: &TunConfig) -> io::Result<Self> {
        let queues = config.queues.max(1);
        let mut builder = DeviceBuilder::new()
            .name(&config.name)
            .mtu(config.mtu)
            .multi_queue(queues > 1);
        if let Some((addr, prefix)) = config.ipv4 {
            builder = builder.ipv4(addr, prefix, None);
        }
        if let Some((addr, prefix)) = config.ipv6 {
            builder = builder.ipv6(addr, prefix);
        }
        let first = builder.build_sync().map_err(|e| {
            io::Error::new(
                e.kind(),
                format!("cannot create TUN device {}: {e}", config.name),
            )
        })?;
        let name = first.name().unwrap_or_else(|_| config.name.clone());
        let mut all = Vec::with_capacity(queues);
        for _ in 1..queues {
            all.push(first.try_clone()?);
        }
        all.insert(0, first);
        Ok(Self { name, queues: all })
    }
}

impl std::fmt::Debug for TunQueues {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TunQueues")
            .field("name", &self.name)
            .field("queues", &self.queues.len())
            .finish()
    }
}
