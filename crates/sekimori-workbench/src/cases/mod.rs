//! The case index, derived from the log and nothing else: rebuilt by
//! replaying every entry at start ([`Index::apply`] in seq order) and kept
//! in step by applying each entry appended since. Same log, same cases.
//!
//! A decision of `review`, `deny`, `freeze` or `halt`, or any
//! `report.not_me`, opens a case or joins the open case of the same
//! (service, entity, [`Family`]): one open case per entity and family, new
//! hits appended (Unit21's alert dedupe). A case's id is the seq of the
//! entry that opened it.

use crate::acts::{Act, Disposition};
use sekimori_engine::{Decision, Entry};
use sekimori_rules::{Action, RuleAction};
use serde_json::Value as Json;
use std::collections::{BTreeMap, BTreeSet, HashMap};

mod accounts;
mod bytes;
mod cap;
mod case;
mod holds;
mod links;
mod order;
pub mod search;

pub use accounts::{History, DEFAULT_MAX_ACCOUNTS};
pub use bytes::{IndexBytes, DEFAULT_MAX_INDEX_BYTES, LABELS_SHARE, MIN_INDEX_BYTES};
pub use cap::{case_must_be_kept, DEFAULT_MAX_CASES, EVENT_IDS_PER_CASE, TERMS_PER_CAP_CASE};
pub use case::{action_weight, Case, CaseEvent, Claim, Closed, Family, HistoryItem, Outcome};
pub use holds::{TimedItem, MAX_PENDING};
pub use search::{SearchHit, MAX_TERM_CASES};

/// The events kept per case (more are counted in `more_events`; an event
/// held for review is always kept, in place of the oldest event not held:
/// see [`cap`]).
pub const MAX_CASE_EVENTS: usize = 1_000;
/// The events kept per account for its timeline (the most recent).
pub const TIMELINE_EVENTS: usize = 200;
/// The notes and history items kept per case.
pub const MAX_CASE_ITEMS: usize = 1_000;
/// Accounts remembered per shared device or address, and devices or
/// addresses per account, for the linked-entities graph (the first seen).
pub const MAX_LINKS: usize = 32;

/// Every case, with the lookups the workbench needs.
#[derive(Debug)]
pub struct Index {
    /// The last log seq applied.
    pub last_seq: u64,
    cases: BTreeMap<u64, Case>,
    open: HashMap<(String, String, Family), u64>,
    /// (service, event id) -> case, for the events in a case.
    by_event: HashMap<(String, String), u64>,
    /// (service, account) -> its latest events and its links, for at most
    /// a bounded number of accounts ([`accounts`]).
    accounts: accounts::Accounts,
    /// (service, event id) -> labels (label, by), for the events of a case.
    labels: HashMap<(String, String), bytes::Labelled>,
    /// Open cases in the queue's order, and each one's place ([`order`]).
    queue_order: BTreeSet<order::Place>,
    queue_place: HashMap<u64, order::Place>,
    /// Service -> its labelled events, oldest first, and their bytes.
    label_orders: HashMap<String, bytes::LabelOrder>,
    /// The accounted bytes of `labels`, and the byte budget of labels and
    /// accounts ([`bytes`]).
    label_bytes: usize,
    max_bytes: usize,
    /// Labels not kept because they were past their share of the budget.
    pub labels_dropped: u64,
    /// (service, entity) -> its cases.
    entity_cases: HashMap<(String, String), Vec<u64>>,
    /// Cases not opened because the index was full (see [`cap`]).
    pub overflow: u64,
    /// Closed cases dropped to make room for new ones.
    pub evicted: u64,
    /// The most cases held (configurable: [`Index::with_cap`]).
    cap: usize,
    /// Closed cases, oldest first: the first to go when the index is full.
    closed_order: BTreeSet<u64>,
    /// Open cases no analyst must act on (only plain denies), oldest
    /// first: the next to go when a held event needs room.
    low_open: BTreeSet<u64>,
    /// Case -> its held events not kept (every kept event was held too):
    /// still undecided, so the case cannot close.
    held_unkept: HashMap<u64, u64>,
    /// The most search terms and event ids indexed ([`cap`]).
    max_terms: usize,
    max_event_ids: usize,
    /// Search terms and event ids not indexed because a bound was reached.
    pub terms_dropped: u64,
    pub event_ids_dropped: u64,
    /// Analyst -> the cases they claimed last (a claim may have lapsed).
    claimed: HashMap<String, BTreeSet<u64>>,
    /// Search terms (`account:..`, `device:..`, `ip:..`, `payee:..`,
    /// `event:..`) -> cases whose events carry them.
    terms: HashMap<String, Vec<u64>>,
    /// Every service seen (a handful).
    services: BTreeSet<String>,
    /// Holds whose lift waits for a second supervisor: who asked.
    lift_requests: holds::LiftRequests,
    /// List items the workbench added, with their expiry.
    timed_items: holds::TimedItems,
    /// Analyst entries whose act did not decode (a newer workbench's).
    pub unknown_acts: u64,
}

impl Default for Index {
    fn default() -> Index {
        Index::with_cap(DEFAULT_MAX_CASES)
    }
}

impl Index {
    /// An empty index holding at most `cap` cases, within the default
    /// byte budget ([`DEFAULT_MAX_INDEX_BYTES`]).
    pub fn with_cap(cap: usize) -> Index {
        Index::unbudgeted(cap).with_max_bytes(DEFAULT_MAX_INDEX_BYTES)
    }

    fn unbudgeted(cap: usize) -> Index {
        Index {
            last_seq: 0,
            cases: BTreeMap::new(),
            open: HashMap::new(),
            by_event: HashMap::new(),
            accounts: accounts::Accounts::new(DEFAULT_MAX_ACCOUNTS),
            labels: HashMap::new(),
            label_orders: HashMap::new(),
            queue_order: BTreeSet::new(),
            queue_place: HashMap::new(),
            label_bytes: 0,
            max_bytes: usize::MAX,
            labels_dropped: 0,
            entity_cases: HashMap::new(),
            overflow: 0,
            unknown_acts: 0,
            evicted: 0,
            cap: cap.max(1),
            closed_order: BTreeSet::new(),
            low_open: BTreeSet::new(),
            held_unkept: HashMap::new(),
            max_terms: cap.max(1).saturating_mul(TERMS_PER_CAP_CASE),
            max_event_ids: cap.max(1).saturating_mul(EVENT_IDS_PER_CASE),
            terms_dropped: 0,
            event_ids_dropped: 0,
            claimed: HashMap::new(),
            terms: HashMap::new(),
            services: BTreeSet::new(),
            lift_requests: Default::default(),
            timed_items: Default::default(),
        }
    }

    /// How many cases the index holds (open and closed).
    pub fn len(&self) -> usize {
        self.cases.len()
    }

    pub fn is_empty(&self) -> bool {
        self.cases.is_empty()
    }

    pub fn cap(&self) -> usize {
        self.cap
    }

    /// The cases `login` holds claimed at server time `now_ms`.
    pub fn claims_of(&self, login: &str, now_ms: i64) -> usize {
        self.claimed.get(login).map_or(0, |ids| {
            ids.iter()
                .filter_map(|id| self.cases.get(id))
                .filter(|c| c.is_open() && c.claimed_by(now_ms) == Some(login))
                .count()
        })
    }

    pub fn case(&self, id: u64) -> Option<&Case> {
        self.cases.get(&id)
    }

    pub fn cases(&self) -> impl Iterator<Item = &Case> {
        self.cases.values()
    }

    pub fn open_count(&self) -> usize {
        self.open.len()
    }

    pub fn case_of_event(&self, service: &str, event_id: &str) -> Option<u64> {
        self.by_event
            .get(&(service.to_string(), event_id.to_string()))
            .copied()
    }

    pub fn timeline(&self, service: &str, account: &str) -> Vec<u64> {
        self.accounts.history(service, account).seqs
    }

    /// Events with labels in the index (events of cases only).
    pub fn label_count(&self) -> usize {
        self.labels.len()
    }

    pub fn labels(&self, service: &str, event_id: &str) -> &[(String, String)] {
        self.labels
            .get(&(service.to_string(), event_id.to_string()))
            .map_or(&[], |l| l.list.as_slice())
    }

    /// Applies the entry at `seq` (the next after `last_seq`).
    pub fn apply(&mut self, seq: u64, entry: &Entry) {
        self.last_seq = seq;
        match entry {
            Entry::Event { event, decision } => self.apply_event(seq, event, decision),
            Entry::Analyst { by, at, act, why } => {
                match serde_json::from_value::<Act>(act.clone()) {
                    Ok(act) => {
                        self.apply_global(by, &act);
                        self.apply_act(seq, by, at, &act, why);
                        if let Some(id) = act.case() {
                            self.requeue(id);
                        }
                    }
                    Err(_) => self.unknown_acts += 1,
                }
            }
            Entry::Label {
                service,
                event_id,
                label,
                by,
                at,
                note,
            } => {
                let key = (service.clone(), event_id.clone());
                // Only an event of a case is shown with its labels: the
                // label index is bounded as the event index is (an event
                // joins a case when it is logged, before any label on it).
                if self.by_event.contains_key(&key) {
                    self.keep_label(key.clone(), label, by);
                }
                if let Some(case) = self
                    .by_event
                    .get(&key)
                    .and_then(|id| self.cases.get_mut(id))
                {
                    push_bounded(
                        &mut case.history,
                        HistoryItem {
                            seq,
                            by: by.clone(),
                            at: at.clone(),
                            what: format!("label {label} on {event_id}"),
                            why: note.clone(),
                        },
                    );
                }
            }
            // A hold placed or lifted by anyone (the service API, a rule's
            // lift) ends a lift that was asked for: a later hold on the same
            // key needs its own two supervisors.
            Entry::Place { hold, .. } | Entry::Lift { hold, .. } => {
                self.lift_requests.remove(hold);
            }
            _ => {}
        }
    }

    fn apply_event(&mut self, seq: u64, event: &Json, decision: &Decision) {
        let s = |k: &str| event.get(k).and_then(Json::as_str);
        let service = s("service").unwrap_or_default().to_string();
        if !self.services.contains(&service) {
            self.services.insert(service.clone());
        }
        let account = s("account")
            .or_else(|| event.pointer("/actor/account").and_then(Json::as_str))
            .map(String::from);
        if let Some(acct) = &account {
            self.accounts
                .record(seq, &service, acct, links::attrs_of(event));
            self.sync_account_bytes();
        }
        let kind = s("type").unwrap_or_default();
        let opens = matches!(
            decision.action,
            Action::Review | Action::Deny | Action::Freeze | Action::Halt
        ) || kind == "report.not_me";
        if !opens {
            return;
        }
        let entity_is_account = account.is_some();
        let entity = account.unwrap_or_else(|| held_key(decision).unwrap_or(service.clone()));
        let entity_term = entity.clone();
        let family = Family::of(kind);
        let at_ms = sekimori_event::parse_rfc3339_ms(&decision.at).unwrap_or(0);
        let ce = CaseEvent {
            seq,
            event_id: decision.event_id.clone(),
            event_type: kind.to_string(),
            at_ms,
            action: decision.action,
            score: decision.score,
            rules: decision
                .reasons
                .iter()
                .filter(|r| !r.shadow && r.action != RuleAction::Flag)
                .map(|r| r.rule.clone())
                .collect(),
            amount_minor: event.get("amount_minor").and_then(Json::as_i64),
            currency: s("currency").map(String::from),
            outcome: None,
            approvals: Vec::new(),
        };
        let key = (service.clone(), entity.clone(), family);
        let must_keep = case_must_be_kept(kind, decision);
        let id = match self.open.get(&key).copied() {
            Some(id) => id,
            None if !self.make_room(seq, kind, decision) => return,
            None => {
                self.entity_cases
                    .entry((service.clone(), entity.clone()))
                    .or_default()
                    .push(seq);
                self.cases.insert(
                    seq,
                    Case {
                        id: seq,
                        service: service.clone(),
                        entity,
                        entity_is_account,
                        family,
                        opened_ms: at_ms,
                        events: Vec::new(),
                        more_events: 0,
                        claim: None,
                        closed: None,
                        notes: Vec::new(),
                        history: Vec::new(),
                        terms: Vec::new(),
                    },
                );
                self.open.insert(key, seq);
                if !must_keep {
                    self.low_open.insert(seq);
                }
                seq
            }
        };
        if must_keep {
            self.low_open.remove(&id);
        }
        let kept = self.join(id, &service, ce);
        self.requeue(id);
        if kept {
            self.index_terms(id, &entity_term, event);
        }
    }

    fn apply_act(&mut self, seq: u64, by: &str, at: &str, act: &Act, why: &str) {
        let Some(case) = act.case().and_then(|id| self.cases.get_mut(&id)) else {
            return;
        };
        let at_ms = sekimori_event::parse_rfc3339_ms(at).unwrap_or(0);
        let item = HistoryItem {
            seq,
            by: by.into(),
            at: at.into(),
            what: describe(act),
            why: why.into(),
        };
        match act {
            Act::Claim { .. } => {
                if let Some(old) = case.claim.take() {
                    if let Some(set) = self.claimed.get_mut(&old.by) {
                        set.remove(&case.id);
                    }
                }
                self.claimed.entry(by.into()).or_default().insert(case.id);
                case.claim = Some(Claim {
                    by: by.into(),
                    at_ms,
                })
            }
            Act::Release { .. } => {
                if let Some(old) = case.claim.take() {
                    if let Some(set) = self.claimed.get_mut(&old.by) {
                        set.remove(&case.id);
                    }
                }
            }
            Act::Note { .. } => push_bounded(&mut case.notes, item.clone()),
            Act::Approve { event_id, .. } => {
                let held = case.events.iter_mut().find(|e| e.event_id == *event_id);
                if let Some(e) = held.filter(|e| e.outcome.is_none()) {
                    if !e.approvals.iter().any(|a| a == by) {
                        e.approvals.push(by.into());
                    }
                    if e.approvals.len() >= crate::APPROVERS {
                        e.outcome = Some(Outcome {
                            approved: true,
                            by: e.approvals.join(" + "),
                            at: at.into(),
                        });
                    }
                }
            }
            Act::Decline { event_id, .. } => {
                let held = case.events.iter_mut().find(|e| e.event_id == *event_id);
                if let Some(e) = held.filter(|e| e.outcome.is_none()) {
                    e.outcome = Some(Outcome {
                        approved: false,
                        by: by.into(),
                        at: at.into(),
                    });
                }
            }
            Act::Close { disposition, .. } => {
                case.closed = Some(Closed {
                    disposition: *disposition,
                    by: by.into(),
                    at: at.into(),
                    note: why.into(),
                });
                if let Some(old) = case.claim.take() {
                    if let Some(set) = self.claimed.get_mut(&old.by) {
                        set.remove(&case.id);
                    }
                }
                self.closed_order.insert(case.id);
                self.low_open.remove(&case.id);
                let key = (case.service.clone(), case.entity.clone(), case.family);
                if self.open.get(&key) == Some(&case.id) {
                    self.open.remove(&key);
                }
            }
            _ => {}
        }
        push_bounded(&mut case.history, item);
    }
}

fn push_bounded(list: &mut Vec<HistoryItem>, item: HistoryItem) {
    if list.len() < MAX_CASE_ITEMS {
        list.push(item);
    }
}

/// `scope:key` of the first hold a decision names.
fn held_key(decision: &Decision) -> Option<String> {
    decision
        .reasons
        .iter()
        .find_map(|r| r.hold.as_ref())
        .map(|h| format!("{}:{}", h.scope_name(), h.key))
}

fn describe(act: &Act) -> String {
    match act {
        Act::PlaceHold { hold, action, .. } => format!(
            "place {} on {} {}",
            format!("{action:?}").to_lowercase(),
            hold.scope_name(),
            hold.key
        ),
        Act::RequestLift { hold, .. } => {
            format!("ask to lift the hold on {} {}", hold.scope_name(), hold.key)
        }
        Act::LiftHold {
            hold, requested_by, ..
        } => format!(
            "lift the hold on {} {} (asked by {requested_by})",
            hold.scope_name(),
            hold.key
        ),
        Act::ListAdd {
            list,
            item,
            expires_at,
            ..
        } => format!("add {item} to list {list} until {expires_at}"),
        Act::Approve { event_id, .. } => format!("approve {event_id}"),
        Act::Decline { event_id, .. } => format!("decline {event_id}"),
        Act::Close { disposition, .. } => format!("close as {}", disposition.name()),
        other => other.name().to_string(),
    }
}

#[cfg(test)]
mod tests;
