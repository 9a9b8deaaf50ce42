//! A decision's feature values ([`Features`]): what the rules read, by name.
//!
//! On the wire and in the log it is a JSON object with its keys in name
//! order (what a `serde_json::Map` writes). The engine does not build that
//! map per decision: it keeps the values it read as (slot, value) pairs,
//! sorted by name, with a shared reference to the pack's feature names
//! ([`FeatureNames`], built once per pack), so a decision allocates one
//! small vector for its features instead of a `String` and a tree node per
//! feature. A decision read back from the log, or built by hand, holds the
//! map itself. Both forms serialize to the same bytes and compare equal
//! when they hold the same names and values.

use serde::{Deserialize, Deserializer, Serialize, Serializer};
use serde_json::{Map, Value as Json};
use std::sync::Arc;

/// The names of a pack's features, by slot, with each slot's rank in name
/// order: built once when the engine takes a pack, shared by its decisions.
#[derive(Debug, PartialEq, Eq)]
pub struct FeatureNames {
    names: Vec<String>,
    rank: Vec<u32>,
}

impl FeatureNames {
    /// The names of `names` (slot `i` is `names[i]`).
    pub fn new(names: Vec<String>) -> Arc<FeatureNames> {
        let mut by_name: Vec<usize> = (0..names.len()).collect();
        by_name.sort_by(|&a, &b| names[a].cmp(&names[b]));
        let mut rank = vec![0u32; names.len()];
        for (r, &slot) in by_name.iter().enumerate() {
            rank[slot] = u32::try_from(r).unwrap_or(u32::MAX);
        }
        Arc::new(FeatureNames { names, rank })
    }

    /// Sorts `slots` by their names.
    pub(crate) fn sort_by_name(&self, slots: &mut [u32]) {
        slots.sort_by_key(|&slot| self.rank(slot));
    }

    fn name(&self, slot: u32) -> &str {
        self.names.get(slot as usize).map_or("", String::as_str)
    }

    fn rank(&self, slot: u32) -> u32 {
        self.rank.get(slot as usize).copied().unwrap_or(u32::MAX)
    }
}

/// The value of every feature the evaluated rules read, by name (`null`:
/// no data or no key). Reads like a map of names to JSON values
/// ([`Features::get`], `features["name"]`, iteration in name order);
/// serializes as a JSON object with sorted keys.
#[derive(Clone, Default)]
pub struct Features(Repr);

#[derive(Clone)]
enum Repr {
    /// Read from a log, or built by hand.
    Map(Map<String, Json>),
    /// As the engine decides: (slot, value) sorted by the slot's name.
    Slots {
        names: Arc<FeatureNames>,
        values: Vec<(u32, Json)>,
    },
}

impl Default for Repr {
    fn default() -> Self {
        Repr::Map(Map::new())
    }
}

static NULL: Json = Json::Null;

impl Features {
    /// No features.
    pub fn new() -> Features {
        Features::default()
    }

    /// The engine's form: `values` are (slot, value) pairs of distinct
    /// slots of `names`, in any order (sorted here).
    #[cfg(test)]
    pub(crate) fn from_slots(names: Arc<FeatureNames>, mut values: Vec<(u32, Json)>) -> Features {
        values.sort_unstable_by_key(|&(slot, _)| names.rank(slot));
        Features(Repr::Slots { names, values })
    }

    /// The engine's form: `values` are (slot, value) pairs of distinct
    /// slots of `names`, in name order ([`FeatureNames::sort_by_name`]).
    pub(crate) fn from_sorted(names: Arc<FeatureNames>, values: Vec<(u32, Json)>) -> Features {
        debug_assert!(values
            .windows(2)
            .all(|w| names.rank(w[0].0) < names.rank(w[1].0)));
        Features(Repr::Slots { names, values })
    }

    /// The value of feature `name`, if the decision read it.
    pub fn get(&self, name: &str) -> Option<&Json> {
        match &self.0 {
            Repr::Map(m) => m.get(name),
            Repr::Slots { names, values } => values
                .binary_search_by(|(slot, _)| names.name(*slot).cmp(name))
                .ok()
                .map(|i| &values[i].1),
        }
    }

    pub fn contains_key(&self, name: &str) -> bool {
        self.get(name).is_some()
    }

    pub fn len(&self) -> usize {
        match &self.0 {
            Repr::Map(m) => m.len(),
            Repr::Slots { values, .. } => values.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    /// (name, value) in name order.
    pub fn iter(&self) -> Iter<'_> {
        Iter(match &self.0 {
            Repr::Map(m) => IterRepr::Map(m.iter()),
            Repr::Slots { names, values } => IterRepr::Slots(names, values.iter()),
        })
    }

    /// The values as a JSON map.
    pub fn to_map(&self) -> Map<String, Json> {
        self.iter()
            .map(|(k, v)| (k.to_string(), v.clone()))
            .collect()
    }
}

/// The features in name order ([`Features::iter`]).
#[derive(Debug)]
pub struct Iter<'a>(IterRepr<'a>);

#[derive(Debug)]
enum IterRepr<'a> {
    Map(serde_json::map::Iter<'a>),
    Slots(&'a FeatureNames, std::slice::Iter<'a, (u32, Json)>),
}

impl<'a> Iterator for Iter<'a> {
    type Item = (&'a str, &'a Json);

    fn next(&mut self) -> Option<Self::Item> {
        match &mut self.0 {
            IterRepr::Map(it) => it.next().map(|(k, v)| (k.as_str(), v)),
            IterRepr::Slots(names, it) => it.next().map(|(slot, v)| (names.name(*slot), v)),
        }
    }

    fn size_hint(&self) -> (usize, Option<usize>) {
        match &self.0 {
            IterRepr::Map(it) => it.size_hint(),
            IterRepr::Slots(_, it) => it.size_hint(),
        }
    }
}

impl ExactSizeIterator for Iter<'_> {}

impl<'a> IntoIterator for &'a Features {
    type Item = (&'a str, &'a Json);
    type IntoIter = Iter<'a>;

    fn into_iter(self) -> Iter<'a> {
        self.iter()
    }
}

/// `features["name"]`: the value, `null` when the decision did not read it.
impl std::ops::Index<&str> for Features {
    type Output = Json;

    fn index(&self, name: &str) -> &Json {
        self.get(name).unwrap_or(&NULL)
    }
}

impl From<Map<String, Json>> for Features {
    fn from(map: Map<String, Json>) -> Features {
        Features(Repr::Map(map))
    }
}

impl FromIterator<(String, Json)> for Features {
    fn from_iter<I: IntoIterator<Item = (String, Json)>>(iter: I) -> Features {
        Features(Repr::Map(iter.into_iter().collect()))
    }
}

/// Equal when they hold the same names with the same values, whatever the form.
impl PartialEq for Features {
    fn eq(&self, other: &Features) -> bool {
        self.len() == other.len() && self.iter().eq(other.iter())
    }
}

impl std::fmt::Debug for Features {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_map().entries(self.iter()).finish()
    }
}

/// A JSON object, keys in name order: the bytes a `serde_json::Map` writes.
impl Serialize for Features {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        match &self.0 {
            Repr::Map(m) => m.serialize(serializer),
            Repr::Slots { .. } => serializer.collect_map(self.iter()),
        }
    }
}

impl<'de> Deserialize<'de> for Features {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Features, D::Error> {
        Map::deserialize(deserializer).map(Features::from)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    fn names() -> Arc<FeatureNames> {
        FeatureNames::new(
            ["zeta", "alpha", "mid", "Alpha", "alpha_2", "b"]
                .map(String::from)
                .to_vec(),
        )
    }

    /// The slots form writes the bytes the map form writes, reads the same
    /// values and equals it; a decision read back from its JSON equals the
    /// engine's.
    #[test]
    fn slots_serialize_and_read_as_the_map() {
        let values = vec![
            (0, json!(3)),
            (4, Json::Null),
            (1, json!(-7)),
            (3, json!({"history": 2, "ratio": null})),
            (5, json!(0)),
        ];
        let map: Map<String, Json> = values
            .iter()
            .map(|(s, v)| (names().names[*s as usize].clone(), v.clone()))
            .collect();
        let slots = Features::from_slots(names(), values);
        let as_map = Features::from(map.clone());
        let bytes = serde_json::to_string(&slots).expect("json");
        assert_eq!(bytes, serde_json::to_string(&map).expect("json"));
        assert_eq!(
            bytes,
            r#"{"Alpha":{"history":2,"ratio":null},"alpha":-7,"alpha_2":null,"b":0,"zeta":3}"#
        );
        assert_eq!(slots, as_map);
        assert_eq!(as_map, slots);
        let back: Features = serde_json::from_str(&bytes).expect("reads back");
        assert_eq!(back, slots);
        assert_eq!(slots.len(), 5);
        for (name, value) in &map {
            assert_eq!(slots.get(name), Some(value), "{name}");
            assert_eq!(&slots[name.as_str()], value);
        }
        assert_eq!(slots.get("mid"), None, "a slot not read is absent");
        assert_eq!(slots["mid"], Json::Null);
        assert_eq!(slots.get("nothing"), None);
        assert_eq!(slots.to_map(), map);
        assert_eq!(format!("{slots:?}"), format!("{as_map:?}"));
    }

    #[test]
    fn forms_differ_when_values_or_names_do() {
        let a = Features::from_slots(names(), vec![(0, json!(1)), (1, json!(2))]);
        let b = Features::from_slots(names(), vec![(0, json!(1)), (1, json!(3))]);
        let c = Features::from_slots(names(), vec![(0, json!(1))]);
        let d = Features::from_slots(names(), vec![(0, json!(1)), (2, json!(2))]);
        assert_ne!(a, b);
        assert_ne!(a, c);
        assert_ne!(a, d);
        let empty = Features::from_slots(names(), Vec::new());
        assert_eq!(empty, Features::new());
        assert_eq!(serde_json::to_string(&empty).expect("json"), "{}");
        assert!(empty.is_empty());
    }
}
