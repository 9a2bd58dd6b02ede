//! The batch queue itself: items in batch-sized chunks behind one mutex.
//!
//! A push takes the lock, moves the item into the chunk being filled and releases it:
//! one compare-and-swap, one copy of the item, a few comparisons (callgrind: ~110
//! instructions for a span, against ~350 through `std::sync::mpsc::sync_channel`,
//! whose slot protocol and two copies of the ~450-byte `SpanData` they replaced). The
//! export thread takes whole chunks, which are its batches: no item is copied out one
//! at a time. The lock is held for a push, for the export thread moving chunks out,
//! and once per chunk for the next chunk's allocation (`batch_size` items, ~230 KB of
//! spans at the default 512); the first write to each fresh page of a chunk faults
//! inside a later push. A booking thread waits at most for one of those.
//!
//! Memory follows the queue's length, one chunk (`batch_size` items) at a time, instead
//! of a channel's slots all allocated up front.

use std::collections::VecDeque;
use std::sync::{Mutex, MutexGuard, PoisonError};

/// Items waiting for the export thread, at most `capacity` of them.
pub(super) struct Items<T> {
    buffer: Mutex<Buffer<T>>,
    capacity: usize,
    chunk: usize,
}

struct Buffer<T> {
    /// Full chunks, oldest first.
    full: VecDeque<Vec<T>>,
    /// The chunk being filled (no allocation until its first item).
    current: Vec<T>,
    /// Items in `full` and `current`.
    len: usize,
    /// The export thread has ended: nothing is taken any more.
    closed: bool,
}

/// Why a push was refused; the item comes back so that it is dropped outside the lock.
pub(super) enum Refused<T> {
    /// `capacity` items are waiting.
    Full(T),
    /// The export thread has ended.
    Closed(T),
}

impl<T> std::fmt::Debug for Items<T> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Items")
            .field("len", &self.lock().len)
            .field("capacity", &self.capacity)
            .finish_non_exhaustive()
    }
}

impl<T> Items<T> {
    /// An empty queue of `capacity` items, handed out in chunks of `chunk` (both ≥ 1).
    pub(super) fn new(capacity: usize, chunk: usize) -> Self {
        Items {
            buffer: Mutex::new(Buffer {
                full: VecDeque::new(),
                current: Vec::new(),
                len: 0,
                closed: false,
            }),
            capacity: capacity.max(1),
            chunk: chunk.max(1),
        }
    }

    /// A panic elsewhere while the lock was held cannot leave the buffer half-updated
    /// (every update is a move that cannot panic, or an allocation that aborts), so a
    /// poisoned lock is used as is.
    fn lock(&self) -> MutexGuard<'_, Buffer<T>> {
        self.buffer.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Queues `item`, or gives it back with the reason.
    #[inline]
    pub(super) fn push(&self, item: T) -> Result<(), Refused<T>> {
        let mut buffer = self.lock();
        if buffer.closed {
            return Err(Refused::Closed(item));
        }
        if buffer.len >= self.capacity {
            return Err(Refused::Full(item));
        }
        if buffer.current.len() >= self.chunk || buffer.current.capacity() == 0 {
            self.next_chunk(&mut buffer);
        }
        buffer.current.push(item);
        buffer.len += 1;
        Ok(())
    }

    /// Files the full chunk and starts the next one (once per `chunk` pushes).
    #[cold]
    #[inline(never)]
    fn next_chunk(&self, buffer: &mut Buffer<T>) {
        if !buffer.current.is_empty() {
            let full = std::mem::take(&mut buffer.current);
            buffer.full.push_back(full);
        }
        let room = self.chunk.min(self.capacity - buffer.len);
        buffer.current.reserve_exact(room);
    }

    /// Takes up to `chunks` chunks, oldest first, with at least `at_least` items in all
    /// unless fewer are queued: whole chunks, so a batch may hold up to a chunk more
    /// than asked. Returns them with their total length.
    pub(super) fn take(&self, chunks: usize, at_least: usize) -> (Vec<Vec<T>>, usize) {
        let mut buffer = self.lock();
        let mut taken = Vec::new();
        let mut count = 0;
        while taken.len() < chunks && count < at_least {
            let chunk = match buffer.full.pop_front() {
                Some(chunk) => chunk,
                None if buffer.current.is_empty() => break,
                None => std::mem::take(&mut buffer.current),
            };
            count += chunk.len();
            taken.push(chunk);
        }
        buffer.len -= count;
        (taken, count)
    }

    /// Takes everything queued; with `close`, later pushes are refused as
    /// [`Refused::Closed`]. The caller drops what it gets outside the lock.
    pub(super) fn take_all(&self, close: bool) -> (Vec<Vec<T>>, usize) {
        let mut buffer = self.lock();
        buffer.closed |= close;
        let mut taken: Vec<Vec<T>> = buffer.full.drain(..).collect();
        if !buffer.current.is_empty() {
            taken.push(std::mem::take(&mut buffer.current));
        }
        let count = std::mem::replace(&mut buffer.len, 0);
        (taken, count)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn items_come_out_in_order_in_whole_chunks_up_to_the_capacity() {
        let items = Items::new(10, 4);
        for i in 0..10 {
            assert!(items.push(i).is_ok());
        }
        assert!(matches!(items.push(10), Err(Refused::Full(10))));
        // At least 5 items: two chunks (8 items), not one and a part.
        let (chunks, count) = items.take(3, 5);
        assert_eq!(chunks, vec![vec![0, 1, 2, 3], vec![4, 5, 6, 7]]);
        assert_eq!(count, 8);
        // Room again: the partial chunk and new items.
        assert!(items.push(10).is_ok());
        let (chunks, count) = items.take(8, usize::MAX);
        assert_eq!(chunks, vec![vec![8, 9, 10]]);
        assert_eq!(count, 3);
        assert_eq!(items.take(8, usize::MAX), (Vec::new(), 0));
    }

    #[test]
    fn at_most_the_asked_number_of_chunks() {
        let items = Items::new(100, 2);
        for i in 0..9 {
            assert!(items.push(i).is_ok());
        }
        let (chunks, count) = items.take(2, usize::MAX);
        assert_eq!((chunks.len(), count), (2, 4));
        let (rest, count) = items.take_all(false);
        assert_eq!(rest, vec![vec![4, 5], vec![6, 7], vec![8]]);
        assert_eq!(count, 5);
    }

    #[test]
    fn a_closed_queue_gives_everything_back_and_refuses_new_items() {
        let items = Items::new(100, 3);
        for i in 0..5 {
            assert!(items.push(i).is_ok());
        }
        let (chunks, count) = items.take_all(true);
        assert_eq!(count, 5);
        assert_eq!(chunks.concat(), vec![0, 1, 2, 3, 4]);
        assert!(matches!(items.push(5), Err(Refused::Closed(5))));
    }

    #[test]
    fn a_chunk_never_reserves_past_the_capacity() {
        let items = Items::new(5, 512);
        assert!(items.push(0u8).is_ok());
        assert!(items.lock().current.capacity() <= 5);
    }

    #[test]
    fn concurrent_pushes_are_all_taken_once() {
        let items = Items::new(1 << 20, 64);
        std::thread::scope(|scope| {
            for thread in 0..4u64 {
                let items = &items;
                scope.spawn(move || {
                    for i in 0..10_000u64 {
                        assert!(items.push(thread * 100_000 + i).is_ok());
                    }
                });
            }
        });
        let (chunks, count) = items.take_all(false);
        let mut all = chunks.concat();
        assert_eq!(count, 40_000);
        all.sort_unstable();
        all.dedup();
        assert_eq!(all.len(), 40_000);
    }
}
