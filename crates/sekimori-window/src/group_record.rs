//! A group's record: one key's window states, one per member tracking it
//! (see `group`).

use crate::shards::Held;
use crate::state::KeyState;

/// One key's states, one per member tracking it, in member order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub(crate) struct Record {
    /// Bit `m` set: member `m` tracks the key.
    pub(crate) mask: u32,
    pub(crate) states: Box<[KeyState]>,
}

impl Record {
    pub(crate) fn slot(&self, m: usize) -> Option<usize> {
        let bit = 1u32 << m;
        (self.mask & bit != 0).then(|| (self.mask & (bit - 1)).count_ones() as usize)
    }

    pub(crate) fn get(&self, m: usize) -> Option<&KeyState> {
        self.slot(m).map(|i| &self.states[i])
    }

    pub(crate) fn get_mut(&mut self, m: usize) -> Option<&mut KeyState> {
        self.slot(m).map(|i| &mut self.states[i])
    }

    pub(crate) fn has(&self, m: usize) -> bool {
        self.mask & (1 << m) != 0
    }

    /// Member `m`'s state, inserting `f()` if it has none.
    pub(crate) fn get_or_insert(
        &mut self,
        m: usize,
        f: impl FnOnce() -> KeyState,
    ) -> &mut KeyState {
        let bit = 1u32 << m;
        let i = (self.mask & (bit - 1)).count_ones() as usize;
        if self.mask & bit == 0 {
            let mut states = std::mem::take(&mut self.states).into_vec();
            states.insert(i, f());
            self.states = states.into_boxed_slice();
            self.mask |= bit;
        }
        &mut self.states[i]
    }

    pub(crate) fn remove(&mut self, m: usize) -> Option<KeyState> {
        let i = self.slot(m)?;
        let mut states = std::mem::take(&mut self.states).into_vec();
        let old = states.remove(i);
        self.states = states.into_boxed_slice();
        self.mask &= !(1u32 << m);
        Some(old)
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.mask == 0
    }

    /// (member, state) for every member tracking the key.
    #[cfg(test)]
    pub(crate) fn members(&self) -> impl Iterator<Item = (usize, &KeyState)> {
        let mut mask = self.mask;
        self.states.iter().map(move |s| {
            let m = mask.trailing_zeros() as usize;
            mask &= mask - 1;
            (m, s)
        })
    }
}

impl Held for Record {
    const MODELLED: bool = false;
    const MASKED: bool = true;
    fn accounted(&self) -> u64 {
        self.states.iter().map(KeyState::accounted).sum()
    }
    fn mask(&self) -> u32 {
        self.mask
    }
}
