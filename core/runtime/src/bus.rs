//! The typed event bus: one publisher call, many independent subscribers.
//!
//! # Why the publisher never blocks
//!
//! The subscriber list is an `Arc<Vec<Subscriber>>` inside an [`ArcSwap`]. [`EventBus::publish`]
//! does one lock-free `load` of it — no mutex, no `RwLock`, nothing a listener could hold — and
//! `try_send`s the event into each matching subscriber's bounded queue (std's `sync_channel`). A
//! full queue drops the event for that subscriber and counts it; the publisher moves on. With no
//! subscribers, or none whose filter matches, `publish` allocates nothing: the event is wrapped in
//! an `Arc` (one allocation shared by all subscribers) only once some subscriber wants it.
//!
//! [`subscribe`](EventBus::subscribe) and [`unsubscribe`](EventBus::unsubscribe) copy the list,
//! edit the copy and swap it in (read-copy-update); they are rare, publishes are not.
//!
//! Each subscriber owns a delivery thread that runs its listener on events in publish order. A
//! listener returning [`Keep::Unsubscribe`] (or panicking) is removed and never called again;
//! events still queued for it are discarded.

use std::panic::{AssertUnwindSafe, catch_unwind};
use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::mpsc::{self, Receiver, SyncSender, TrySendError};
use std::sync::{Arc, Weak};

use arc_swap::ArcSwap;

mod event;

pub use event::{DownReason, Event, EventKind, SessionId};

/// What a listener wants after handling an event, like a strongSwan listener's `TRUE`/`FALSE`.
///
/// Not `#[non_exhaustive]`: a listener either stays or goes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Keep {
    /// Keep delivering events to this listener.
    Keep,
    /// Remove this listener; it is never called again.
    Unsubscribe,
}

/// Which event kinds a subscriber receives: all, or a set of [`EventKind`]s.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct EventFilter {
    mask: u32,
}

/// Identifies one subscription, for [`EventBus::unsubscribe`].
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct SubscriptionId(pub u64);

/// Counters of one live subscriber.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub struct SubscriberStats {
    /// The subscription.
    pub id: SubscriptionId,
    /// The name given to [`EventBus::subscribe`].
    pub name: String,
    /// Events handed to the listener (counted just before the call).
    pub delivered: u64,
    /// Events dropped because the subscriber's queue was full.
    pub dropped: u64,
    /// Events waiting in the queue now.
    pub queued: usize,
}

/// A typed publish/subscribe bus. Cloning yields another handle to the same bus.
///
/// When the last handle drops, each delivery thread delivers what is already queued and exits.
/// A listener that captures a clone of its own bus keeps the bus alive until it unsubscribes.
#[derive(Clone, Default)]
pub struct EventBus {
    inner: Arc<Inner>,
}

#[derive(Default)]
struct Inner {
    subscribers: ArcSwap<Vec<Arc<Subscriber>>>,
    next_id: AtomicU64,
}

/// The publisher's view of a subscriber.
struct Subscriber {
    id: SubscriptionId,
    name: String,
    filter: EventFilter,
    queue: SyncSender<Arc<Event>>,
    counters: Arc<Counters>,
}

/// Shared between the publisher side and the delivery thread.
#[derive(Default)]
struct Counters {
    delivered: AtomicU64,
    dropped: AtomicU64,
    queued: AtomicUsize,
    /// Set on removal so the delivery thread discards what is still queued.
    closed: AtomicBool,
}

impl EventFilter {
    /// Every event, including kinds added in later versions.
    pub const ALL: EventFilter = EventFilter { mask: u32::MAX };

    /// Only the given kinds.
    pub fn only(kinds: impl IntoIterator<Item = EventKind>) -> Self {
        kinds.into_iter().collect()
    }

    /// This filter plus `kind`.
    #[must_use]
    pub fn with(self, kind: EventKind) -> Self {
        Self {
            mask: self.mask | bit(kind),
        }
    }

    /// Whether events of `kind` pass.
    pub fn matches(&self, kind: EventKind) -> bool {
        self.mask & bit(kind) != 0
    }
}

impl EventBus {
    /// A bus with no subscribers.
    pub fn new() -> Self {
        Self::default()
    }

    /// Registers `listener` for events passing `filter`, with a queue of `queue_bound` events
    /// (at least 1) and its own delivery thread named after `name`.
    ///
    /// # Panics
    ///
    /// If the operating system cannot start the delivery thread, like [`std::thread::spawn`].
    pub fn subscribe(
        &self,
        name: &str,
        queue_bound: usize,
        filter: EventFilter,
        listener: impl FnMut(&Event) -> Keep + Send + 'static,
    ) -> SubscriptionId {
        let id = SubscriptionId(self.inner.next_id.fetch_add(1, Ordering::Relaxed));
        let (queue, rx) = mpsc::sync_channel(queue_bound.max(1));
        let counters = Arc::new(Counters::default());
        let sub = Arc::new(Subscriber {
            id,
            name: name.to_owned(),
            filter,
            queue,
            counters: counters.clone(),
        });
        let bus = Arc::downgrade(&self.inner);
        std::thread::Builder::new()
            .name(format!("wg-bus-{name}"))
            .spawn(move || deliver(&rx, &counters, listener, &bus, id))
            .expect("cannot spawn event bus delivery thread");
        self.inner.subscribers.rcu(|list| {
            let mut list = Vec::clone(list);
            list.push(sub.clone());
            list
        });
        id
    }

    /// Removes a subscription; events still queued for it are discarded. Returns whether it
    /// existed. May be called from inside a listener.
    pub fn unsubscribe(&self, id: SubscriptionId) -> bool {
        self.inner.remove(id)
    }

    /// Offers `ev` to every subscriber whose filter matches. Never blocks; see the
    /// [module docs](self).
    pub fn publish(&self, ev: Event) {
        let subs = self.inner.subscribers.load();
        let kind = ev.kind();
        let mut wanted = subs.iter().filter(|s| s.filter.matches(kind)).peekable();
        if wanted.peek().is_none() {
            return;
        }
        let ev = Arc::new(ev);
        for sub in wanted {
            let c = &sub.counters;
            if c.closed.load(Ordering::Acquire) {
                continue;
            }
            // Count before sending so the delivery thread's decrement can never underflow.
            c.queued.fetch_add(1, Ordering::Relaxed);
            match sub.queue.try_send(ev.clone()) {
                Ok(()) => {}
                Err(TrySendError::Full(_)) => {
                    c.queued.fetch_sub(1, Ordering::Relaxed);
                    c.dropped.fetch_add(1, Ordering::Relaxed);
                }
                Err(TrySendError::Disconnected(_)) => {
                    // The listener unsubscribed itself and its removal is in flight.
                    c.queued.fetch_sub(1, Ordering::Relaxed);
                }
            }
        }
    }

    /// Counters of every live subscriber, in subscription order.
    pub fn stats(&self) -> Vec<SubscriberStats> {
        self.inner
            .subscribers
            .load()
            .iter()
            .map(|s| SubscriberStats {
                id: s.id,
                name: s.name.clone(),
                delivered: s.counters.delivered.load(Ordering::Relaxed),
                dropped: s.counters.dropped.load(Ordering::Relaxed),
                queued: s.counters.queued.load(Ordering::Relaxed),
            })
            .collect()
    }
}

impl Inner {
    fn remove(&self, id: SubscriptionId) -> bool {
        let mut removed = None;
        self.subscribers.rcu(|list| {
            removed = list.iter().find(|s| s.id == id).cloned();
            list.iter()
                .filter(|s| s.id != id)
                .cloned()
                .collect::<Vec<_>>()
        });
        // Dropping `removed` (and the old list) drops the queue's sender, which ends the
        // delivery thread once it has skipped what is left.
        removed.is_some_and(|s| {
            s.counters.closed.store(true, Ordering::Release);
            true
        })
    }
}

impl FromIterator<EventKind> for EventFilter {
    fn from_iter<I: IntoIterator<Item = EventKind>>(kinds: I) -> Self {
        kinds
            .into_iter()
            .fold(EventFilter { mask: 0 }, EventFilter::with)
    }
}

impl From<EventKind> for EventFilter {
    fn from(kind: EventKind) -> Self {
        EventFilter { mask: 0 }.with(kind)
    }
}

impl Default for EventFilter {
    /// [`EventFilter::ALL`].
    fn default() -> Self {
        Self::ALL
    }
}

impl std::fmt::Debug for EventBus {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("EventBus")
            .field("subscribers", &self.inner.subscribers.load().len())
            .finish()
    }
}

/// A subscriber's delivery thread: runs `listener` on queued events in order until the queue's
/// sender is dropped (removal or bus drop) or the listener asks to go. The listener is dropped
/// when this returns.
fn deliver(
    rx: &Receiver<Arc<Event>>,
    counters: &Counters,
    mut listener: impl FnMut(&Event) -> Keep,
    bus: &Weak<Inner>,
    id: SubscriptionId,
) {
    while let Ok(ev) = rx.recv() {
        counters.queued.fetch_sub(1, Ordering::Relaxed);
        if counters.closed.load(Ordering::Acquire) {
            // Removed: drain without calling the listener until the sender is gone.
            continue;
        }
        counters.delivered.fetch_add(1, Ordering::Relaxed);
        // A panicking listener is treated as one that unsubscribed: it is in an unknown state.
        let keep = catch_unwind(AssertUnwindSafe(|| listener(&ev))).unwrap_or(Keep::Unsubscribe);
        if keep == Keep::Unsubscribe {
            if let Some(bus) = bus.upgrade() {
                bus.remove(id);
            }
            return;
        }
    }
}

fn bit(kind: EventKind) -> u32 {
    1 << kind as u32
}

#[cfg(test)]
mod tests;
