//! Decoded images for `GET /images/{id}/render`, kept per process and
//! bounded in bytes, least recently used evicted first. Entries are keyed by
//! the image id and its object key; an object key names content that is
//! never rewritten (a replaced file gets a new key), so an entry can never
//! be stale and several processes need not agree on anything.

use carina_imaging::GrayImage;
use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};

#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Key {
    pub image_id: i64,
    pub object_key: String,
}

struct Entry {
    image: Arc<GrayImage>,
    bytes: usize,
    last_used: u64,
}

#[derive(Default)]
struct Inner {
    entries: HashMap<Key, Entry>,
    bytes: usize,
    clock: u64,
}

/// Counters for tests and logs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct Stats {
    pub hits: u64,
    pub misses: u64,
    pub entries: usize,
    pub bytes: usize,
}

pub struct RenderCache {
    capacity: usize,
    inner: Mutex<Inner>,
    hits: AtomicU64,
    misses: AtomicU64,
}

fn size_of(img: &GrayImage) -> usize {
    img.data.len() * std::mem::size_of::<u16>()
}

impl RenderCache {
    /// A cache of at most `capacity` bytes of pixels (0: nothing is kept).
    pub fn new(capacity: usize) -> Self {
        Self {
            capacity,
            inner: Mutex::new(Inner::default()),
            hits: AtomicU64::new(0),
            misses: AtomicU64::new(0),
        }
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Inner> {
        // A panic while holding the lock leaves consistent data behind
        // (every update is a few plain assignments), so keep going.
        self.inner.lock().unwrap_or_else(|e| e.into_inner())
    }

    pub fn get(&self, key: &Key) -> Option<Arc<GrayImage>> {
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        let found = inner.entries.get_mut(key).map(|e| {
            e.last_used = now;
            e.image.clone()
        });
        let counter = if found.is_some() {
            &self.hits
        } else {
            &self.misses
        };
        counter.fetch_add(1, Ordering::Relaxed);
        found
    }

    /// Keeps `image` under `key`, evicting the least recently used entries
    /// to stay within capacity. An image larger than the whole cache is not kept.
    pub fn insert(&self, key: Key, image: Arc<GrayImage>) {
        let bytes = size_of(&image);
        if bytes > self.capacity {
            return;
        }
        let mut inner = self.lock();
        inner.clock += 1;
        let now = inner.clock;
        if let Some(old) = inner.entries.remove(&key) {
            inner.bytes -= old.bytes;
        }
        while inner.bytes + bytes > self.capacity {
            let Some(oldest) = inner
                .entries
                .iter()
                .min_by_key(|(_, e)| e.last_used)
                .map(|(k, _)| k.clone())
            else {
                break;
            };
            if let Some(e) = inner.entries.remove(&oldest) {
                inner.bytes -= e.bytes;
            }
        }
        inner.bytes += bytes;
        inner.entries.insert(
            key,
            Entry {
                image,
                bytes,
                last_used: now,
            },
        );
    }

    /// Drops every entry of `image_id` (its file was replaced or deleted):
    /// not needed for correctness, it only frees the memory sooner.
    pub fn forget(&self, image_id: i64) {
        let mut inner = self.lock();
        let keys: Vec<Key> = inner
            .entries
            .keys()
            .filter(|k| k.image_id == image_id)
            .cloned()
            .collect();
        for k in keys {
            if let Some(e) = inner.entries.remove(&k) {
                inner.bytes -= e.bytes;
            }
        }
    }

    pub fn stats(&self) -> Stats {
        let inner = self.lock();
        Stats {
            hits: self.hits.load(Ordering::Relaxed),
            misses: self.misses.load(Ordering::Relaxed),
            entries: inner.entries.len(),
            bytes: inner.bytes,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn img(side: u32, v: u16) -> Arc<GrayImage> {
        Arc::new(GrayImage::new(side, side, 16, vec![v; (side * side) as usize]).unwrap())
    }

    fn key(id: i64, k: &str) -> Key {
        Key {
            image_id: id,
            object_key: k.into(),
        }
    }

    #[test]
    fn hits_misses_and_lru_eviction_within_capacity() {
        // Room for two 10×10 16-bit images (200 bytes each).
        let cache = RenderCache::new(450);
        cache.insert(key(1, "a"), img(10, 1));
        cache.insert(key(2, "b"), img(10, 2));
        assert_eq!(cache.get(&key(1, "a")).unwrap().data[0], 1);
        // 2 is now the least recently used and goes.
        cache.insert(key(3, "c"), img(10, 3));
        assert!(cache.get(&key(2, "b")).is_none());
        assert_eq!(cache.get(&key(1, "a")).unwrap().data[0], 1);
        assert_eq!(cache.get(&key(3, "c")).unwrap().data[0], 3);
        let s = cache.stats();
        assert_eq!((s.hits, s.misses, s.entries, s.bytes), (3, 1, 2, 400));
        // A new object key for the same image is a different entry.
        assert!(cache.get(&key(1, "a2")).is_none());
        // Too large for the cache: not kept, nothing evicted.
        cache.insert(key(4, "d"), img(20, 4));
        assert!(cache.get(&key(4, "d")).is_none());
        assert_eq!(cache.stats().entries, 2);
        cache.forget(1);
        assert!(cache.get(&key(1, "a")).is_none());
        assert_eq!(cache.stats().bytes, 200);
    }

    #[test]
    fn zero_capacity_keeps_nothing() {
        let cache = RenderCache::new(0);
        cache.insert(key(1, "a"), img(2, 1));
        assert!(cache.get(&key(1, "a")).is_none());
        assert_eq!(cache.stats().bytes, 0);
    }
}
