//! Order-keeping parallel map over the machine's cores, for work made of
//! independent items (whatif scenarios, the documents of a large bundle).

use std::sync::{Mutex, PoisonError};

/// Applies `f` to every item, in contiguous runs, one run per core, and
/// returns the results in item order. Fewer than `min_items` items, or one
/// core, run on the calling thread.
pub fn map_ordered<T: Send, R: Send>(
    items: Vec<T>,
    min_items: usize,
    f: impl Fn(T) -> R + Sync,
) -> Vec<R> {
    let cores = std::thread::available_parallelism().map_or(1, |n| n.get());
    if cores < 2 || items.len() < min_items.max(2) {
        return items.into_iter().map(f).collect();
    }
    let run = items.len().div_ceil(cores);
    let mut runs: Vec<Vec<T>> = Vec::new();
    let mut items = items.into_iter().peekable();
    while items.peek().is_some() {
        runs.push(items.by_ref().take(run).collect());
    }
    // Each run waits in a slot, so a run whose thread cannot start is
    // still there to be done on this thread.
    let slots: Vec<Mutex<Option<Vec<T>>>> = runs.into_iter().map(|r| Mutex::new(Some(r))).collect();
    let work = |slot: &Mutex<Option<Vec<T>>>| -> Vec<R> {
        let run = slot.lock().unwrap_or_else(PoisonError::into_inner).take();
        run.unwrap_or_default().into_iter().map(&f).collect()
    };
    let work = &work;
    std::thread::scope(|scope| {
        let handles: Vec<_> = slots
            .iter()
            .map(|slot| {
                // The main thread's stack size: recursive work (a deeply
                // nested document) that fits there fits in a worker too.
                let spawned = std::thread::Builder::new()
                    .stack_size(WORKER_STACK_BYTES)
                    .spawn_scoped(scope, move || work(slot));
                (slot, spawned.ok())
            })
            .collect();
        handles
            .into_iter()
            .flat_map(|(slot, handle)| match handle {
                // A worker panics only where `f` would have on this thread.
                Some(h) => h.join().unwrap_or_else(|p| std::panic::resume_unwind(p)),
                None => work(slot),
            })
            .collect()
    })
}

/// Stack of a worker: the usual main-thread size.
const WORKER_STACK_BYTES: usize = 8 << 20;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keeps_item_order_across_runs() {
        let items: Vec<usize> = (0..1001).collect();
        let out = map_ordered(items.clone(), 1, |i| i * 2);
        assert_eq!(out, items.iter().map(|i| i * 2).collect::<Vec<_>>());
    }

    #[test]
    fn small_inputs_and_empty_ones_work() {
        assert_eq!(map_ordered(Vec::<u8>::new(), 1, |i| i), Vec::<u8>::new());
        assert_eq!(map_ordered(vec![7], 1, |i| i + 1), vec![8]);
        assert_eq!(map_ordered(vec![1, 2, 3], 100, |i| i), vec![1, 2, 3]);
    }
}
