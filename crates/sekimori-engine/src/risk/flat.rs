//! `FlatMap`: a small sorted map in one vector, for a profile's values and
//! parents (a handful each, at most [`super::PROFILE_CAP`]).
//!
//! A `BTreeMap` allocates a whole node of 11 slots for its first entry; a
//! profile holds about four values and four parents, so two thirds of what
//! it allocated was empty. Here the entries sit in one boxed slice sorted
//! by key (16 bytes in the profile, not a `Vec`'s 24), grown one slot at a
//! time (its length is its allocation, so the accounting from lengths is
//! what is held), looked up by binary search. Serialized as
//! a map in key order, exactly as the `BTreeMap` was: snapshots and
//! `state_digest` are byte-identical.

use serde::de::{MapAccess, Visitor};
use serde::{Deserialize, Deserializer, Serialize, Serializer};
use std::fmt;
use std::marker::PhantomData;

#[derive(Clone, Debug, PartialEq, Eq)]
pub(super) struct FlatMap<K, V> {
    entries: Box<[(K, V)]>,
}

impl<K, V> Default for FlatMap<K, V> {
    fn default() -> Self {
        FlatMap {
            entries: Box::new([]),
        }
    }
}

impl<K: Ord + Copy, V> FlatMap<K, V> {
    fn find(&self, k: &K) -> Result<usize, usize> {
        self.entries.binary_search_by(|(x, _)| x.cmp(k))
    }

    pub fn len(&self) -> usize {
        self.entries.len()
    }

    pub fn get(&self, k: &K) -> Option<&V> {
        self.find(k).ok().map(|i| &self.entries[i].1)
    }

    /// The value of `k`, inserting `f()` first if there is none.
    pub fn get_or_insert_with(&mut self, k: K, f: impl FnOnce() -> V) -> &mut V {
        let i = match self.find(&k) {
            Ok(i) => i,
            Err(i) => {
                // One slot at a time: the allocation stays the length.
                let mut v = std::mem::take(&mut self.entries).into_vec();
                v.reserve_exact(1);
                v.insert(i, (k, f()));
                self.entries = v.into_boxed_slice();
                i
            }
        };
        &mut self.entries[i].1
    }

    /// Keeps the entries `f` accepts, then gives back what was freed.
    pub fn retain(&mut self, mut f: impl FnMut(&K, &V) -> bool) {
        let mut v = std::mem::take(&mut self.entries).into_vec();
        v.retain(|(k, v)| f(k, v));
        self.entries = v.into_boxed_slice();
    }

    /// Entries in key order.
    pub fn iter(&self) -> impl Iterator<Item = (&K, &V)> {
        self.entries.iter().map(|(k, v)| (k, v))
    }

    pub fn values(&self) -> impl Iterator<Item = &V> {
        self.entries.iter().map(|(_, v)| v)
    }
}

impl<K: Serialize, V: Serialize> Serialize for FlatMap<K, V> {
    fn serialize<S: Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        s.collect_map(self.entries.iter().map(|(k, v)| (k, v)))
    }
}

impl<'de, K: Deserialize<'de> + Ord + Copy, V: Deserialize<'de>> Deserialize<'de>
    for FlatMap<K, V>
{
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct MapVisitor<K, V>(PhantomData<(K, V)>);
        impl<'de, K: Deserialize<'de> + Ord + Copy, V: Deserialize<'de>> Visitor<'de> for MapVisitor<K, V> {
            type Value = FlatMap<K, V>;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a map")
            }
            fn visit_map<A: MapAccess<'de>>(self, mut m: A) -> Result<Self::Value, A::Error> {
                // Bounded by the input's own length; a profile is small.
                let mut entries: Vec<(K, V)> =
                    Vec::with_capacity(m.size_hint().unwrap_or(0).min(4 * super::PROFILE_CAP));
                while let Some((k, v)) = m.next_entry()? {
                    entries.push((k, v));
                }
                // A BTreeMap wrote them in order; any order (and the last of
                // a repeated key, as a BTreeMap would keep) is accepted.
                entries.sort_by_key(|e| e.0);
                let mut out: Vec<(K, V)> = Vec::with_capacity(entries.len());
                for e in entries {
                    match out.last_mut() {
                        Some(last) if last.0 == e.0 => *last = e,
                        _ => out.push(e),
                    }
                }
                Ok(FlatMap {
                    entries: out.into_boxed_slice(),
                })
            }
        }
        d.deserialize_map(MapVisitor(PhantomData))
    }
}

#[cfg(test)]
mod tests {
    use super::FlatMap;
    use std::collections::BTreeMap;

    #[test]
    fn behaves_and_serializes_as_a_btreemap() {
        let mut flat: FlatMap<u64, (u32, i64)> = FlatMap::default();
        let mut tree: BTreeMap<u64, (u32, i64)> = BTreeMap::new();
        let mut s = 0x2545_f491_4f6c_dd1du64;
        for i in 0..5_000u64 {
            s ^= s << 13;
            s ^= s >> 7;
            s ^= s << 17;
            let k = s % 97;
            if s >> 60 == 0 {
                flat.retain(|key, _| key % 7 != k % 7);
                tree.retain(|key, _| key % 7 != k % 7);
            } else {
                flat.get_or_insert_with(k, || (0, i as i64)).0 += 1;
                tree.entry(k).or_insert((0, i as i64)).0 += 1;
            }
            assert_eq!(flat.len(), tree.len());
            assert_eq!(flat.get(&k), tree.get(&k));
        }
        assert!(flat.iter().eq(tree.iter()));
        let bytes = postcard::to_stdvec(&flat).expect("serializes");
        assert_eq!(bytes, postcard::to_stdvec(&tree).expect("serializes"));
        let back: FlatMap<u64, (u32, i64)> = postcard::from_bytes(&bytes).expect("restores");
        assert_eq!(back, flat);
    }

    #[test]
    fn restores_any_order_keeping_the_last_of_a_repeated_key() {
        let json = r#"{"3": 1, "1": 2, "3": 5, "2": 0}"#;
        let m: FlatMap<u64, u32> = serde_json::from_str(json).expect("parses");
        let tree: BTreeMap<u64, u32> = serde_json::from_str(json).expect("parses");
        assert!(m.iter().eq(tree.iter()));
    }
}
