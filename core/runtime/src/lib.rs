//! The daemon's two concurrency primitives: a **priority thread pool** for blocking work and a
//! **typed event bus** for telling the rest of the daemon what happened.
//!
//! # What it does
//!
//! Every blocking call the daemon makes — password hashing, PAM, RADIUS round trips, plugin file
//! I/O — runs as a job on a [`PriorityPool`], never on an async worker. Jobs carry a
//! [`Priority`]; each class can reserve threads (strongSwan's `charon.processor.priority_threads`),
//! so a pile of slow `Low` jobs (a RADIUS server that stopped answering) can never occupy the
//! threads that `Critical` work (session teardown, DPD bookkeeping) relies on. This is how one
//! login never waits on another: each waits only on its own job. A submitted job yields a
//! [`JobHandle`], which is both a runtime-agnostic [`Future`] (await it
//! on tokio) and a blocking [`JobHandle::wait`].
//!
//! The [`EventBus`] fans typed [`Event`]s (session up/down, auth results, bans, reloads, …) out
//! to subscribers such as the accounting writer, the WebSocket stream and logging plugins. Each
//! subscriber has its own bounded queue and its own delivery thread, so the publisher — usually
//! a hot session task — never blocks: a full queue drops the event *for that subscriber only* and
//! counts the drop.
//!
//! ```text
//!   async tasks (tokio)                         blocking world
//!   ───────────────────                         ──────────────
//!   submit(High, job) ──► [Critical|High|Medium|Low] queues ──► dispatcher (one mutex)
//!        │                                                       │ reservation rule
//!        │                                          ┌────────────┼────────────┐
//!        │                                       worker 0     worker 1 …  worker N-1
//!        │                                          │ catch_unwind(job)
//!        ◄──────── JobHandle (Future / wait) ◄──────┘ result or Panicked/Cancelled
//!
//!   publish(Event) ── lock-free load of the subscriber list (arc-swap)
//!        │ filter by kind, try_send (never blocks)
//!        ├──► [bounded queue] ──► delivery thread ──► listener(&Event) -> Keep | Unsubscribe
//!        └──► [bounded queue] ──► delivery thread ──► listener(&Event) -> Keep | Unsubscribe
//! ```
//!
//! # What it deliberately does not do
//!
//! - It knows nothing about the VPN protocol, sessions or plugins: events carry plain data
//!   ([`SessionId`], user names, addresses) and jobs are opaque closures.
//! - It depends on no async runtime. Futures it returns complete from pool threads through a
//!   stored `Waker`, which works under tokio or any other executor.
//! - It does not time jobs out or interrupt them: a running job cannot be cancelled, only queued
//!   ones can (on [`PriorityPool::shutdown`]). Backends bound their own I/O.
//!
//! # Model checking
//!
//! The pool's queue handoff and shutdown use primitives from the crate-private `loom` shim,
//! which are std's normally and loom's under `--cfg loom`:
//! `RUSTFLAGS="--cfg loom" cargo test -p wolfguard-runtime --release loom`.
#![forbid(unsafe_code)]
#![warn(missing_docs)]

pub mod bus;
mod loom;
pub mod pool;

pub use bus::{
    DownReason, Event, EventBus, EventFilter, EventKind, Keep, SessionId, SubscriberStats,
    SubscriptionId,
};
pub use pool::{
    ClassStats, JobError, JobHandle, PoolConfig, PoolError, PoolStats, Priority, PriorityPool,
};
