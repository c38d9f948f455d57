//! SIGINT and SIGTERM during a run: instead of dying on the spot (leaving
//! the local backend's temp directory, no report and no `finally` steps),
//! the run ends in order. The signal is recorded here; the runner skips
//! the steps left, the local backend's waits return early, the `finally`
//! steps run, the report is written marked interrupted, and the process
//! exits with 128 + the signal number (130 for SIGINT, 143 for SIGTERM).
//!
//! A second signal while the `finally` steps run cuts their waits short
//! too (the steps still run, briefly), so a user who presses Ctrl-C twice
//! is not held up.

use std::sync::atomic::{AtomicU8, AtomicU32, Ordering};

/// A signal that ends a run.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, serde::Serialize)]
pub enum Signal {
    /// Ctrl-C.
    #[serde(rename = "SIGINT")]
    Int,
    /// `kill`, a CI job's cancellation, a container stop.
    #[serde(rename = "SIGTERM")]
    Term,
}

impl Signal {
    /// `SIGINT`, `SIGTERM`.
    pub fn name(self) -> &'static str {
        match self {
            Signal::Int => "SIGINT",
            Signal::Term => "SIGTERM",
        }
    }

    /// The exit code of a process that ended because of it: 128 + its
    /// number, as shells report a process killed by it.
    pub fn exit_code(self) -> u8 {
        match self {
            Signal::Int => 128 + 2,
            Signal::Term => 128 + 15,
        }
    }

    fn tag(self) -> u8 {
        match self {
            Signal::Int => 1,
            Signal::Term => 2,
        }
    }

    fn from_tag(tag: u8) -> Option<Signal> {
        match tag {
            1 => Some(Signal::Int),
            2 => Some(Signal::Term),
            _ => None,
        }
    }
}

impl std::fmt::Display for Signal {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

/// The first signal received (0: none).
static FIRST: AtomicU8 = AtomicU8::new(0);
/// Signals received so far.
static RECEIVED: AtomicU32 = AtomicU32::new(0);
/// Signals already answered by starting the `finally` steps.
static ACKNOWLEDGED: AtomicU32 = AtomicU32::new(0);

/// Records a signal (what the handler does; tests call it directly).
pub fn record(signal: Signal) {
    let _ = FIRST.compare_exchange(0, signal.tag(), Ordering::SeqCst, Ordering::SeqCst);
    RECEIVED.fetch_add(1, Ordering::SeqCst);
}

/// The first signal received, if any: the run was interrupted.
pub fn received() -> Option<Signal> {
    Signal::from_tag(FIRST.load(Ordering::SeqCst))
}

/// True while a signal has not been answered yet: steps and waits should
/// stop now.
pub fn should_stop() -> bool {
    RECEIVED.load(Ordering::SeqCst) > ACKNOWLEDGED.load(Ordering::SeqCst)
}

/// The `finally` steps start: the signals so far are answered, their waits
/// run again until the next signal.
pub fn acknowledge() {
    ACKNOWLEDGED.store(RECEIVED.load(Ordering::SeqCst), Ordering::SeqCst);
}

/// Catches SIGINT and SIGTERM from now on (once per process; later calls
/// do nothing). A thread waits for them, so the run itself only polls
/// [`should_stop`].
pub fn install() -> std::io::Result<()> {
    static INSTALLED: std::sync::OnceLock<()> = std::sync::OnceLock::new();
    if INSTALLED.get().is_some() {
        return Ok(());
    }
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_io()
        .build()?;
    // Registered here, before the thread starts, so that a signal sent
    // right after `install` returns is caught.
    let (mut int, mut term) = runtime.block_on(async {
        use tokio::signal::unix::{SignalKind, signal};
        Ok::<_, std::io::Error>((
            signal(SignalKind::interrupt())?,
            signal(SignalKind::terminate())?,
        ))
    })?;
    std::thread::Builder::new()
        .name("signals".into())
        .spawn(move || {
            runtime.block_on(async move {
                loop {
                    let signal = tokio::select! {
                        _ = int.recv() => Signal::Int,
                        _ = term.recv() => Signal::Term,
                    };
                    record(signal);
                    eprintln!(
                        "zonechaos: {signal}: stopping the run (finally steps, report, cleanup); \
                         again to cut the finally steps' waits short"
                    );
                }
            });
        })?;
    let _ = INSTALLED.set(());
    Ok(())
}

/// Sleeps `d`, in short ticks, unless a signal asks the run to stop
/// ([`should_stop`]): then it returns that signal at once. For the real
/// waits of backends that hold no model clock of their own.
pub fn sleep(d: std::time::Duration) -> Result<(), Signal> {
    const TICK: std::time::Duration = std::time::Duration::from_millis(100);
    let end = std::time::Instant::now() + d;
    loop {
        if should_stop()
            && let Some(signal) = received()
        {
            return Err(signal);
        }
        let left = end.saturating_duration_since(std::time::Instant::now());
        if left.is_zero() {
            return Ok(());
        }
        std::thread::sleep(left.min(TICK));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn exit_codes_are_128_plus_the_signal_number() {
        assert_eq!(Signal::Int.exit_code(), 130);
        assert_eq!(Signal::Term.exit_code(), 143);
        assert_eq!(
            serde_json::to_value(Signal::Term).unwrap(),
            serde_json::json!("SIGTERM")
        );
    }
}
