//! Entity profiles: `aggregate: amounts` and `aggregate: hours` (issue 13
//! part 3.2). Per key (an account, a payee, per currency as the key says) a
//! bounded integer sketch of its past, and readings that place this event
//! in it. See docs/rules.md, "Relative amounts and hours".
//!
//! **Amounts.** A histogram of past amounts (minor units) over quarter-octave
//! buckets: bucket 0 holds amounts of at most 0, bucket `1 + 4e + s` the
//! amounts `a` with `2^e <= a < 2^(e+1)` whose next two bits are `s` (so
//! each bucket spans at most a quarter of its octave: 1, 1.25, 1.5, 1.75 ×
//! 2^e, steps of at most 25%). At most [`AMOUNT_CELLS`] buckets per key: a
//! new one past that drops the smallest count (the lowest bucket on ties).
//!
//! **Hours.** Counts per hour of the week (168 slots, Monday 00:00 UTC is
//! slot 0). Readings compare the event's slot with its neighbours and its
//! own hour on other days, so they do not depend on the time zone: an
//! account in UTC+9 has the same shares counted in UTC.
//!
//! **Bounds.** Counts halve (rounding down, zeros dropped) whenever a key's
//! total reaches [`HALVE_AT`]: the history weighs recent events more and
//! never grows past a few hundred bytes. At `max_keys` the least recently
//! updated keys go, 1/16 of the cap at a time. Every key is in the memory
//! budget (`accounted_bytes`, from lengths) and in snapshots; keys live in
//! copy-on-write shards, so the engine's snapshot copy copies pointers. A
//! key's shard is keyed by a secret seed drawn per store (never
//! serialized: the layout reaches nothing), so crafted keys cannot pile
//! into one shard (the attacker's review, F1): the risk stores' `CowMap`,
//! whose shards are hash tables (`foldhash`, seeded per table).
//! Integers only; nothing depends on the order keys are visited in
//! (evictions pick by (time, key), snapshots and digests sort by key), so
//! readings, evictions and digests depend only on the events and their
//! order.

use serde::{Deserialize, Serialize};
use serde_json::{json, Value as Json};

use crate::risk::CowMap;

pub(crate) use sekimori_rules::ProfileKind;

/// Buckets kept per key of an amounts profile.
pub(crate) const AMOUNT_CELLS: usize = 32;
/// Slots of an hours profile (hours in a week).
pub(crate) const WEEK_SLOTS: i64 = 168;
/// A key's counts halve when their total reaches this.
pub(crate) const HALVE_AT: u32 = 512;
const HOUR_MS: i64 = 3_600_000;
/// Accounted bytes of a key besides its cells: its slot in its shard's
/// hash table (the `(u128, Profile)` pair, 48 bytes with the key's
/// alignment, and a control byte) half as much again (a table two-thirds
/// full, its mean load as it grows), and its cells' allocation header: 89.
/// (64 when the shards were `BTreeMap`s, which keep keys and values in
/// separate arrays: 40 bytes an entry.)
const KEY_BYTES: u64 = ((std::mem::size_of::<(u128, Profile)>() + 1) * 3 / 2 + 16) as u64;
const CELL_BYTES: u64 = 4;

/// One key's history: `(bucket or slot, count)` sorted by index, in a
/// boxed slice of exactly their number (16 bytes in the profile where a
/// `Vec` took 24, and no spare capacity: a `Vec` grew to four cells for its
/// first). Serialized as the list it was: snapshots are unchanged.
#[derive(Clone, Debug, Default, PartialEq, Eq, Serialize, Deserialize)]
pub(crate) struct Profile {
    /// Latest (clamped) event time it learned from, for recency.
    pub last_at: i64,
    cells: Box<[(u8, u16)]>,
}

/// Changes boxed cells as a vector and boxes them back at their length.
fn edit(cells: &mut Box<[(u8, u16)]>, f: impl FnOnce(&mut Vec<(u8, u16)>)) {
    let mut v = std::mem::take(cells).into_vec();
    f(&mut v);
    *cells = v.into_boxed_slice();
}

impl Profile {
    pub fn cells(&self) -> &[(u8, u16)] {
        &self.cells
    }

    fn total(&self) -> u32 {
        self.cells().iter().map(|c| u32::from(c.1)).sum()
    }

    fn accounted(&self) -> u64 {
        KEY_BYTES + self.cells().len() as u64 * CELL_BYTES
    }

    /// Two observations or more: the budget's protected tier.
    fn repeated(&self) -> bool {
        self.total() >= 2
    }

    fn add(&mut self, index: u8, cap: usize) {
        match self.cells().binary_search_by_key(&index, |c| c.0) {
            Ok(i) => {
                let c = &mut self.cells[i];
                c.1 = c.1.saturating_add(1);
            }
            Err(i) => edit(&mut self.cells, |cells| {
                cells.reserve_exact(1);
                cells.insert(i, (index, 1));
                if cells.len() > cap {
                    // The smallest count goes, the lowest index on ties,
                    // never the cell just added.
                    let drop = cells
                        .iter()
                        .enumerate()
                        .filter(|(_, c)| c.0 != index)
                        .min_by_key(|(_, c)| (c.1, c.0))
                        .map(|(j, _)| j);
                    if let Some(j) = drop {
                        cells.remove(j);
                    }
                }
            }),
        }
        if self.total() >= HALVE_AT {
            edit(&mut self.cells, |cells| {
                for c in cells.iter_mut() {
                    c.1 /= 2;
                }
                cells.retain(|c| c.1 > 0);
            });
        }
    }

    fn is_valid(&self, kind: ProfileKind) -> bool {
        let cap = match kind {
            ProfileKind::Amounts => AMOUNT_CELLS,
            ProfileKind::Hours => WEEK_SLOTS as usize,
        };
        let cells = self.cells();
        cells.len() <= cap
            && cells.windows(2).all(|w| w[0].0 < w[1].0)
            && cells.iter().all(|c| c.1 > 0)
            && (kind == ProfileKind::Amounts || cells.iter().all(|c| i64::from(c.0) < WEEK_SLOTS))
    }
}

/// The quarter-octave bucket of an amount (see the module docs).
pub(crate) fn amount_bucket(amount: i64) -> u8 {
    if amount <= 0 {
        return 0;
    }
    let a = amount as u64;
    let e = 63 - a.leading_zeros();
    let s = ((u128::from(a) << 2) >> e) & 3;
    (1 + 4 * e + s as u32) as u8
}

/// A representative amount of a bucket: the middle of its range.
pub(crate) fn bucket_middle(bucket: u8) -> i64 {
    if bucket == 0 {
        return 0;
    }
    let i = u32::from(bucket) - 1;
    let (e, s) = (i / 4, i128::from(i % 4));
    let low = ((4 + s) << e) >> 2;
    let mid = ((9 + 2 * s) << e) >> 3;
    i64::try_from(mid.max(low).max(1)).unwrap_or(i64::MAX)
}

/// The hour-of-week slot of an event time (Monday 00:00 UTC is 0; the Unix
/// epoch was a Thursday, slot 72).
pub(crate) fn week_slot(at_ms: i64) -> u8 {
    (at_ms.div_euclid(HOUR_MS) + 72).rem_euclid(WEEK_SLOTS) as u8
}

/// The reading of an amounts profile for `amount`: how many past amounts,
/// where this one ranks (basis points, mid-rank: half of its own bucket
/// counts as below; 10,000 above them all), the typical (median) past
/// amount and this one as a share of it (basis points: 30,000 is three
/// times). Zeros without history.
pub(crate) fn read_amounts(p: Option<&Profile>, amount: Option<i64>) -> Json {
    let total = p.map_or(0, Profile::total);
    let Some(p) = p.filter(|_| total > 0) else {
        return json!({"history": 0, "percentile": 0, "median": 0, "ratio": 0});
    };
    let mut cumulative = 0u32;
    let mut median = 0;
    for c in p.cells() {
        cumulative += u32::from(c.1);
        if cumulative * 2 >= total {
            median = bucket_middle(c.0);
            break;
        }
    }
    let (percentile, ratio) = match amount {
        Some(a) => {
            let b = amount_bucket(a);
            let below: u32 = p
                .cells()
                .iter()
                .filter(|c| c.0 < b)
                .map(|c| u32::from(c.1))
                .sum();
            let same: u32 = p
                .cells()
                .iter()
                .filter(|c| c.0 == b)
                .map(|c| u32::from(c.1))
                .sum();
            let percentile =
                (u64::from(below) * 2 + u64::from(same)) * 10_000 / (2 * u64::from(total));
            let ratio = i128::from(a.max(0)) * 10_000 / i128::from(median.max(1));
            (percentile as i64, i64::try_from(ratio).unwrap_or(i64::MAX))
        }
        None => (0, 0),
    };
    json!({"history": total, "percentile": percentile, "median": median, "ratio": ratio})
}

/// The reading of an hours profile at `at_ms`: how many past events, the
/// share (basis points) of them within an hour of this hour of the week,
/// and within an hour of this hour of the day on any day.
pub(crate) fn read_hours(p: Option<&Profile>, at_ms: i64) -> Json {
    let total = p.map_or(0, Profile::total);
    let Some(p) = p.filter(|_| total > 0) else {
        return json!({"history": 0, "share": 0, "hour_share": 0});
    };
    let slot = i64::from(week_slot(at_ms));
    let distance = |other: i64, modulo: i64| {
        let d = (other - slot).rem_euclid(modulo);
        d.min(modulo - d)
    };
    let mut week = 0u64;
    let mut day = 0u64;
    for c in p.cells() {
        let s = i64::from(c.0);
        if distance(s, WEEK_SLOTS) <= 1 {
            week += u64::from(c.1);
        }
        if distance(s, 24) <= 1 {
            day += u64::from(c.1);
        }
    }
    let t = u64::from(total);
    json!({"history": total, "share": week * 10_000 / t, "hour_share": day * 10_000 / t})
}

/// One `amounts` or `hours` feature's profiles.
#[derive(Clone, Debug)]
pub(crate) struct ProfileStore {
    kind: ProfileKind,
    max_keys: usize,
    /// The profiles by key, in copy-on-write shards (see the module docs).
    map: CowMap<u128, Profile>,
    /// Accounted bytes, kept up to date (a function of the content).
    accounted: u64,
}

/// Equal when they hold the same profiles (the layout does not matter).
impl PartialEq for ProfileStore {
    fn eq(&self, other: &ProfileStore) -> bool {
        (self.kind, self.max_keys, self.map.len(), self.accounted)
            == (other.kind, other.max_keys, other.map.len(), other.accounted)
            && self.map.sorted() == other.map.sorted()
    }
}

impl Eq for ProfileStore {}

impl ProfileStore {
    pub fn new(kind: ProfileKind, max_keys: usize) -> ProfileStore {
        ProfileStore {
            kind,
            max_keys: max_keys.max(1),
            map: CowMap::new(),
            accounted: 0,
        }
    }

    pub fn kind(&self) -> ProfileKind {
        self.kind
    }

    #[cfg(test)]
    pub fn len(&self) -> usize {
        self.map.len()
    }

    pub fn get(&self, key: u128) -> Option<&Profile> {
        self.map.get(&key)
    }

    /// The reading for `key` (before this event is learned): `value` is the
    /// amount for an amounts profile; an hours profile reads `at_ms`.
    pub fn read(&self, key: u128, value: Option<i64>, at_ms: i64) -> Json {
        match self.kind {
            ProfileKind::Amounts => read_amounts(self.get(key), value),
            ProfileKind::Hours => read_hours(self.get(key), at_ms),
        }
    }

    /// Learns one event: its amount (amounts; nothing without one) or its
    /// time (hours).
    pub fn learn(&mut self, key: u128, value: Option<i64>, at_ms: i64) {
        let (index, cap) = match (self.kind, value) {
            (ProfileKind::Amounts, Some(a)) => (amount_bucket(a), AMOUNT_CELLS),
            (ProfileKind::Amounts, None) => return,
            (ProfileKind::Hours, _) => (week_slot(at_ms), WEEK_SLOTS as usize),
        };
        if self.get(key).is_none() && self.map.len() >= self.max_keys {
            self.evict_oldest(self.max_keys / 16);
        }
        let before = self.get(key).map(Profile::accounted);
        let p = self.map.get_or_insert_with(key, Profile::default);
        p.last_at = p.last_at.max(at_ms);
        p.add(index, cap);
        let after = p.accounted();
        self.accounted = self.accounted.saturating_sub(before.unwrap_or(0)) + after;
    }

    /// Forgets the `n` (at least one) least recently updated keys, by
    /// (time, key).
    fn evict_oldest(&mut self, n: usize) {
        let mut all: Vec<(i64, u128)> = self.map.iter().map(|(k, p)| (p.last_at, *k)).collect();
        let n = n.max(1).min(all.len());
        if n == 0 {
            return;
        }
        // The n smallest pairs, in no order (pairs are distinct: keys are).
        all.select_nth_unstable(n - 1);
        for (_, key) in all.into_iter().take(n) {
            if let Some(p) = self.map.remove(&key) {
                self.accounted = self.accounted.saturating_sub(p.accounted());
            }
        }
    }

    pub fn accounted_bytes(&self) -> u64 {
        self.accounted
    }

    /// Calls `f(last updated, bytes, repeated)` for every key.
    pub fn for_each_age(&self, mut f: impl FnMut(i64, u64, bool)) {
        for p in self.map.values() {
            f(p.last_at, p.accounted(), p.repeated());
        }
    }

    /// Forgets every key seen once last updated at or before `single_ms`
    /// and every repeated one at or before `repeated_ms`: (keys, bytes).
    pub fn evict_through(&mut self, single_ms: i64, repeated_ms: i64) -> (u64, u64) {
        let (mut keys, mut bytes) = (0, 0);
        self.map.remove_where(
            |p| p.last_at <= if p.repeated() { repeated_ms } else { single_ms },
            |_, p| {
                keys += 1;
                bytes += p.accounted();
            },
        );
        self.accounted = self.accounted.saturating_sub(bytes);
        (keys, bytes)
    }

    pub fn state_digest(&self) -> u64 {
        let mut bytes = Vec::with_capacity(16 + self.map.len() * 24);
        bytes.push(self.kind as u8);
        bytes.extend((self.max_keys as u64).to_le_bytes());
        for (k, p) in self.map.sorted() {
            bytes.extend(k.to_le_bytes());
            bytes.extend(p.last_at.to_le_bytes());
            bytes.extend((p.cells().len() as u64).to_le_bytes());
            for c in p.cells() {
                bytes.push(c.0);
                bytes.extend(c.1.to_le_bytes());
            }
        }
        xxhash_rust::xxh3::xxh3_64(&bytes)
    }
}

/// The serialized form: the kind, the cap and every key in key order.
#[derive(Serialize, Deserialize)]
struct Form {
    amounts: bool,
    max_keys: u64,
    keys: Vec<(u128, Profile)>,
}

impl Serialize for ProfileStore {
    fn serialize<S: serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
        Form {
            amounts: self.kind == ProfileKind::Amounts,
            max_keys: self.max_keys as u64,
            keys: self
                .map
                .sorted()
                .into_iter()
                .map(|(k, p)| (*k, p.clone()))
                .collect(),
        }
        .serialize(s)
    }
}

impl<'de> Deserialize<'de> for ProfileStore {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        let form = Form::deserialize(d)?;
        let kind = if form.amounts {
            ProfileKind::Amounts
        } else {
            ProfileKind::Hours
        };
        let mut store = ProfileStore::new(kind, usize::try_from(form.max_keys).unwrap_or(1));
        for (k, p) in form.keys {
            if !p.is_valid(kind) {
                return Err(serde::de::Error::custom("invalid profile in snapshot"));
            }
            store.accounted += p.accounted();
            *store.map.get_or_insert_with(k, Profile::default) = p;
        }
        Ok(store)
    }
}

#[cfg(test)]
#[path = "profiles_tests.rs"]
mod tests;
