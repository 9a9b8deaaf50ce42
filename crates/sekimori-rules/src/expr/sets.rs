//! Pre-hashed string sets and maps for the fast evaluator: a pack's lists
//! (`x in lists.name`) and map literals (the money functions' thresholds per
//! currency). A text is hashed once with xxh3 when it is looked up, and the
//! table is keyed by that hash with no second hashing (SipHash cost more
//! than the rest of a lookup); the text itself is always compared, so a
//! hash collision can never make a membership true.

use std::collections::HashMap;
use std::hash::{BuildHasherDefault, Hasher};
use xxhash_rust::xxh3::xxh3_64;

/// The entries whose keys share one hash (almost always one).
type Bucket<T> = Vec<(Box<str>, T)>;

/// A string-keyed table, by the xxh3 hash of the key.
#[derive(Debug, Clone, PartialEq)]
pub(crate) struct Pre<T> {
    table: HashMap<u64, Bucket<T>, BuildHasherDefault<Identity>>,
    len: usize,
}

impl<T> Default for Pre<T> {
    fn default() -> Self {
        Pre {
            table: HashMap::default(),
            len: 0,
        }
    }
}

impl<T> Pre<T> {
    /// Adds `key` (a key already present keeps its first value).
    pub(crate) fn insert(&mut self, key: &str, value: T) -> bool {
        let bucket = self.table.entry(xxh3_64(key.as_bytes())).or_default();
        if bucket.iter().any(|(k, _)| &**k == key) {
            return false;
        }
        bucket.push((key.into(), value));
        self.len += 1;
        true
    }

    pub(crate) fn get(&self, key: &str) -> Option<&T> {
        let bucket = self.table.get(&xxh3_64(key.as_bytes()))?;
        bucket.iter().find(|(k, _)| &**k == key).map(|(_, v)| v)
    }

    pub(crate) fn contains(&self, key: &str) -> bool {
        self.get(key).is_some()
    }

    pub(crate) fn len(&self) -> usize {
        self.len
    }
}

impl<'a> FromIterator<&'a str> for Pre<()> {
    fn from_iter<I: IntoIterator<Item = &'a str>>(items: I) -> Self {
        let mut set = Pre::default();
        for item in items {
            set.insert(item, ());
        }
        set
    }
}

/// The hasher of a table keyed by a hash already computed: the key itself.
#[derive(Debug, Default, Clone, Copy)]
pub(crate) struct Identity(u64);

impl Hasher for Identity {
    fn finish(&self) -> u64 {
        self.0
    }

    fn write(&mut self, bytes: &[u8]) {
        // Only u64 keys reach here (`write_u64`); fold anything else.
        for b in bytes {
            self.0 = self.0.rotate_left(8) ^ u64::from(*b);
        }
    }

    fn write_u64(&mut self, n: u64) {
        self.0 = n;
    }
}

/// The pack's named sets, sorted by name (a binary search finds one).
#[derive(Debug, Default)]
pub(crate) struct Lists(Vec<(String, Pre<()>)>);

impl Lists {
    pub(crate) fn new(mut sets: Vec<(String, Pre<()>)>) -> Self {
        sets.sort_by(|a, b| a.0.cmp(&b.0));
        Lists(sets)
    }

    pub(crate) fn get(&self, name: &str) -> Option<&Pre<()>> {
        let i = self
            .0
            .binary_search_by(|(n, _)| n.as_str().cmp(name))
            .ok()?;
        self.0.get(i).map(|(_, set)| set)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn lookups_compare_the_text() {
        let set: Pre<()> = ["a", "bb", "", "a"].into_iter().collect();
        assert_eq!(set.len(), 3);
        for k in ["a", "bb", ""] {
            assert!(set.contains(k), "{k}");
        }
        for k in ["b", "A", "aa", "bb "] {
            assert!(!set.contains(k), "{k}");
        }
        // Two texts in one bucket (a forced collision) stay apart.
        let mut m: Pre<i64> = Pre::default();
        m.table.insert(7, vec![("x".into(), 1), ("y".into(), 2)]);
        m.len = 2;
        assert_eq!(m.get("z"), None);
        let lists = Lists::new(vec![
            ("b".into(), set.clone()),
            ("a".into(), Pre::default()),
        ]);
        assert!(lists.get("b").is_some_and(|s| s.contains("bb")));
        assert!(lists.get("a").is_some_and(|s| !s.contains("bb")));
        assert!(lists.get("c").is_none());
    }
}
