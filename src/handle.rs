//! A generation-checked handle table.
//!
//! A handle is 64 bits: the low `INDEX_BITS` name a slot, the high bits carry
//! the slot's generation at the time the handle was issued. Removing an object
//! bumps its slot's generation, so every handle issued for it before is dead for
//! good (the 40-bit generation wraps only after 2^40 - 1 reuses of one slot).
//! Generations start at 1, so 0 is never a valid handle.
//!
//! Lookups lock only their own slot, and only long enough to clone the object
//! out (an `Arc` in practice); no lock is ever held across I/O. The free list
//! has its own lock, taken only by insert and remove.

use crate::sync::{AtomicU64, Mutex, Ordering};
use once_cell::sync::OnceCell;

/// An opaque object name: slot index and generation.
pub type Handle = u64;

const INDEX_BITS: u32 = 24;
const INDEX_MASK: u64 = (1 << INDEX_BITS) - 1;
const GENERATION_MAX: u64 = (1 << (64 - INDEX_BITS)) - 1;
// Small chunks under loom keep each model execution cheap.
const CHUNK_BITS: u32 = if cfg!(loom) { 2 } else { 10 };
const CHUNK_LEN: usize = 1 << CHUNK_BITS;

/// The most objects a table holds at once.
pub(crate) const MAX_HANDLES: usize = 1 << INDEX_BITS;

struct Slot<T> {
    generation: u64,
    object: Option<T>,
}

/// A lazily allocated run of slots; slots never move once allocated.
type Chunk<T> = OnceCell<Box<[Mutex<Slot<T>>]>>;

struct FreeList {
    free: Vec<u32>,
    never_used: u32,
}

/// A table of objects named by generation-checked handles.
pub struct HandleTable<T> {
    // Slots live in lazily allocated chunks, so they never move and lookups
    // need no table-wide lock.
    chunks: Box<[Chunk<T>]>,
    free: Mutex<FreeList>,
    live: AtomicU64,
    capacity: usize,
}

impl<T: Clone> Default for HandleTable<T> {
    fn default() -> Self {
        Self::with_capacity(MAX_HANDLES)
    }
}

impl<T: Clone> HandleTable<T> {
    /// A table that holds at most `capacity` objects (at most `MAX_HANDLES`).
    pub fn with_capacity(capacity: usize) -> Self {
        let capacity = capacity.min(MAX_HANDLES);
        HandleTable {
            chunks: (0..capacity.div_ceil(CHUNK_LEN))
                .map(|_| OnceCell::new())
                .collect(),
            free: Mutex::new(FreeList {
                free: Vec::new(),
                never_used: 0,
            }),
            live: AtomicU64::new(0),
            capacity,
        }
    }

    /// Stores `object` and returns its new handle, or gives the object back
    /// when the table is full.
    pub fn insert(&self, object: T) -> Result<Handle, T> {
        let index = {
            let mut free = self.free.lock();
            match free.free.pop() {
                Some(index) => index,
                None if (free.never_used as usize) < self.capacity => {
                    free.never_used += 1;
                    free.never_used - 1
                }
                None => return Err(object),
            }
        };
        let mut slot = self.slot(index).lock();
        debug_assert!(slot.object.is_none());
        slot.object = Some(object);
        let handle = (slot.generation << INDEX_BITS) | u64::from(index);
        drop(slot);
        self.live.fetch_add(1, Ordering::Relaxed);
        Ok(handle)
    }

    /// The object `handle` names, if the handle is still live.
    pub fn get(&self, handle: Handle) -> Option<T> {
        let (index, generation) = split(handle)?;
        let slot = self.chunk(index)?[index as usize % CHUNK_LEN].lock();
        if slot.generation == generation {
            slot.object.clone()
        } else {
            None
        }
    }

    /// `f` applied to the object `handle` names, if the handle is still
    /// live: for a lookup that wants only part of the object (it runs under
    /// the slot's lock, so it must be short).
    #[inline]
    pub fn get_with<R>(&self, handle: Handle, f: impl FnOnce(&T) -> R) -> Option<R> {
        let (index, generation) = split(handle)?;
        let slot = self.chunk(index)?[index as usize % CHUNK_LEN].lock();
        if slot.generation == generation {
            slot.object.as_ref().map(f)
        } else {
            None
        }
    }

    /// Removes the object `handle` names and kills the handle for good.
    pub fn remove(&self, handle: Handle) -> Option<T> {
        self.remove_if(handle, |_| true).ok()
    }

    /// Removes the object only if `keep_going` approves of it; otherwise the
    /// handle stays live and `Err(Some(object))` returns a clone of it.
    pub fn remove_if(
        &self,
        handle: Handle,
        keep_going: impl FnOnce(&T) -> bool,
    ) -> Result<T, Option<T>> {
        let (index, generation) = split(handle).ok_or(None)?;
        let chunk = self.chunk(index).ok_or(None)?;
        let mut slot = chunk[index as usize % CHUNK_LEN].lock();
        if slot.generation != generation {
            return Err(None);
        }
        match slot.object.as_ref() {
            None => return Err(None),
            Some(object) if !keep_going(object) => return Err(Some(object.clone())),
            Some(_) => {}
        }
        let object = slot.object.take().ok_or(None)?;
        slot.generation = if slot.generation == GENERATION_MAX {
            1
        } else {
            slot.generation + 1
        };
        drop(slot);
        self.free.lock().free.push(index);
        self.live.fetch_sub(1, Ordering::Relaxed);
        Ok(object)
    }

    /// How many objects the table holds now.
    pub fn live(&self) -> u64 {
        self.live.load(Ordering::Relaxed)
    }

    fn chunk(&self, index: u32) -> Option<&[Mutex<Slot<T>>]> {
        self.chunks
            .get(index as usize / CHUNK_LEN)?
            .get()
            .map(|c| &c[..])
    }

    fn slot(&self, index: u32) -> &Mutex<Slot<T>> {
        let chunk = self.chunks[index as usize / CHUNK_LEN].get_or_init(|| {
            (0..CHUNK_LEN)
                .map(|_| {
                    Mutex::new(Slot {
                        generation: 1,
                        object: None,
                    })
                })
                .collect()
        });
        &chunk[index as usize % CHUNK_LEN]
    }
}

fn split(handle: Handle) -> Option<(u32, u64)> {
    let generation = handle >> INDEX_BITS;
    (generation != 0).then_some(((handle & INDEX_MASK) as u32, generation))
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Arc;

    #[test]
    fn zero_and_forged_handles_are_never_valid() {
        let table = HandleTable::<u32>::with_capacity(8);
        let h = table.insert(7).unwrap();
        assert_ne!(h, 0);
        assert_eq!(table.get(0), None);
        assert_eq!(table.get(h ^ (1 << 40)), None);
        assert_eq!(table.get(u64::MAX), None);
        assert_eq!(table.get(h), Some(7));
    }

    #[test]
    fn removed_handle_stays_dead_when_its_slot_is_reused() {
        let table = HandleTable::<u32>::with_capacity(1);
        let first = table.insert(1).unwrap();
        assert_eq!(table.remove(first), Some(1));
        assert_eq!(table.remove(first), None, "double remove is refused");
        let second = table.insert(2).unwrap();
        assert_eq!(first & INDEX_MASK, second & INDEX_MASK, "slot reused");
        assert_eq!(table.get(first), None);
        assert_eq!(table.get(second), Some(2));
    }

    #[test]
    fn full_table_gives_the_object_back() {
        let table = HandleTable::<u32>::with_capacity(2);
        table.insert(1).unwrap();
        table.insert(2).unwrap();
        assert_eq!(table.insert(3), Err(3));
        assert_eq!(table.live(), 2);
    }

    #[test]
    fn generation_wraps_to_one_never_zero() {
        let table = HandleTable::<u32>::with_capacity(1);
        table.slot(0).lock().generation = GENERATION_MAX;
        let h = table.insert(1).unwrap();
        table.remove(h);
        let h2 = table.insert(2).unwrap();
        assert_eq!(h2 >> INDEX_BITS, 1);
        assert_eq!(table.get(h), None);
    }

    #[test]
    fn remove_if_refusal_keeps_the_handle() {
        let table = HandleTable::<u32>::with_capacity(1);
        let h = table.insert(5).unwrap();
        assert_eq!(table.remove_if(h, |_| false), Err(Some(5)));
        assert_eq!(table.get(h), Some(5));
    }

    #[test]
    fn concurrent_insert_remove_keeps_count_exact() {
        let table = Arc::new(HandleTable::<u64>::with_capacity(4096));
        let threads: Vec<_> = (0..4)
            .map(|t| {
                let table = Arc::clone(&table);
                std::thread::spawn(move || {
                    for i in 0..5000u64 {
                        let h = table.insert(t * 100_000 + i).unwrap();
                        assert_eq!(table.get(h), Some(t * 100_000 + i));
                        assert_eq!(table.remove(h), Some(t * 100_000 + i));
                        assert_eq!(table.get(h), None);
                    }
                })
            })
            .collect();
        for t in threads {
            t.join().unwrap();
        }
        assert_eq!(table.live(), 0);
    }
}
