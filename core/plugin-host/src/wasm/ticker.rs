//! The epoch ticker: one thread per host that advances every WASM engine's epoch, so a call's
//! deadline (`timeout_ms`) is enforced within one tick even when the guest never yields.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Mutex};
use std::thread::JoinHandle;
use std::time::Duration;

use wasmtime::Engine;

/// Tick period. Short enough that a 10 ms deadline is meaningful; long enough to cost nothing.
const TICK: Duration = Duration::from_millis(2);

/// Advances the epoch of every registered engine every [`TICK`] until dropped.
pub(crate) struct Ticker {
    engines: Arc<Mutex<Vec<Engine>>>,
    stop: Arc<AtomicBool>,
    thread: Option<JoinHandle<()>>,
}

impl Ticker {
    /// Starts the ticker thread.
    pub(crate) fn start() -> std::io::Result<Self> {
        let engines: Arc<Mutex<Vec<Engine>>> = Arc::default();
        let stop = Arc::new(AtomicBool::new(false));
        let thread = {
            let (engines, stop) = (engines.clone(), stop.clone());
            std::thread::Builder::new()
                .name("wg-wasm-epoch".into())
                .spawn(move || {
                    while !stop.load(Ordering::Relaxed) {
                        std::thread::sleep(TICK);
                        for e in engines.lock().unwrap_or_else(|e| e.into_inner()).iter() {
                            e.increment_epoch();
                        }
                    }
                })?
        };
        Ok(Self {
            engines,
            stop,
            thread: Some(thread),
        })
    }

    /// Registers `engine`.
    pub(crate) fn add(&self, engine: Engine) {
        self.engines
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push(engine);
    }

    /// The epoch deadline for a budget of `timeout_ms`: rounded up, plus one tick because the
    /// current tick may be about to end.
    pub(crate) fn ticks_for(timeout_ms: u64) -> u64 {
        let tick = TICK.as_millis() as u64;
        timeout_ms.div_ceil(tick).max(1) + 1
    }
}

impl Drop for Ticker {
    fn drop(&mut self) {
        self.stop.store(true, Ordering::Relaxed);
        if let Some(t) = self.thread.take() {
            let _ = t.join();
        }
    }
}
