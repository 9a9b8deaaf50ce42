//! What the labels in the log say about an event: fraud, legitimate, or
//! nothing known.
//!
//! The vocabulary is the workbench's (`Entry::Label`): analysts'
//! dispositions (`confirmed_fraud`, `false_positive`, `legitimate`,
//! `unable_to_verify`) and services' labels (`chargeback`, `dispute`,
//! `customer_confirmed`, `customer_denied`). An event with several labels
//! takes the class of the strongest, and among equals the **last** in log
//! order, that has a class (`unable_to_verify` and unknown labels have
//! none, so they never undo an earlier verdict). Strongest first: a
//! `chargeback` (the money came back through the card network); an
//! analyst's disposition; a service's `dispute`, `customer_denied` or
//! `customer_confirmed`. So a later chargeback overturns an analyst's
//! "legitimate", an analyst who reviews a dispute has the last word, and a
//! service cannot undo an analyst's verdict with its own labels (one
//! tenant labelling another rule's hits "it was me" to sink its precision).

use serde::Serialize;
use std::collections::{BTreeMap, HashMap};

/// What a label says about its event.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, utoipa::ToSchema)]
#[serde(rename_all = "snake_case")]
#[schema(as = LabelClass)]
pub enum Class {
    Fraud,
    Legitimate,
}

impl Class {
    pub fn name(self) -> &'static str {
        match self {
            Class::Fraud => "fraud",
            Class::Legitimate => "legitimate",
        }
    }
}

/// The class of a label: `chargeback`, `dispute`, `customer_denied` (the
/// holder says "not me") and `confirmed_fraud` are fraud;
/// `customer_confirmed` (the holder says "it was me"), `legitimate` and
/// `false_positive` are legitimate; anything else (`unable_to_verify`)
/// says nothing.
pub fn class_of(label: &str) -> Option<Class> {
    match label {
        "chargeback" | "dispute" | "customer_denied" | "confirmed_fraud" => Some(Class::Fraud),
        "customer_confirmed" | "legitimate" | "false_positive" => Some(Class::Legitimate),
        _ => None,
    }
}

/// How much a label's word weighs (see the module's documentation).
fn strength(label: &str) -> u8 {
    match label {
        "chargeback" => 3,
        "confirmed_fraud" | "false_positive" | "legitimate" => 2,
        _ => 1,
    }
}

/// Every label of a log, resolved per (service, event id).
#[derive(Debug, Default, Clone)]
pub struct Labels {
    by_event: HashMap<(String, String), (Class, u8)>,
    /// How many labels of each name the log holds.
    pub counts: BTreeMap<String, u64>,
    /// Events whose labels disagree (the last one counts).
    pub conflicts: u64,
}

impl Labels {
    /// One label, in log order.
    pub fn add(&mut self, service: &str, event_id: &str, label: &str) {
        *self.counts.entry(label.to_string()).or_default() += 1;
        let Some(class) = class_of(label) else {
            return;
        };
        let key = (service.to_string(), event_id.to_string());
        let strength = strength(label);
        match self.by_event.get_mut(&key) {
            None => {
                self.by_event.insert(key, (class, strength));
            }
            Some(before) => {
                self.conflicts += u64::from(before.0 != class);
                if strength >= before.1 {
                    *before = (class, strength);
                }
            }
        }
    }

    /// The class of `service`'s event `event_id`, if a label gave one.
    pub fn class(&self, service: &str, event_id: &str) -> Option<Class> {
        // Looked up without allocating: the map's key is a pair of Strings.
        self.by_event
            .get(&(service.to_string(), event_id.to_string()))
            .map(|c| c.0)
    }

    /// Events with a class.
    pub fn events(&self) -> usize {
        self.by_event.len()
    }

    /// Events labelled fraud and legitimate.
    pub fn by_class(&self) -> (u64, u64) {
        let fraud = self
            .by_event
            .values()
            .filter(|c| c.0 == Class::Fraud)
            .count() as u64;
        (fraud, self.by_event.len() as u64 - fraud)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_last_label_with_a_class_wins() {
        let mut l = Labels::default();
        l.add("s", "e1", "legitimate");
        l.add("s", "e1", "chargeback");
        l.add("s", "e1", "unable_to_verify");
        assert_eq!(l.class("s", "e1"), Some(Class::Fraud));
        assert_eq!(l.conflicts, 1);
        l.add("s", "e2", "customer_confirmed");
        assert_eq!(l.class("s", "e2"), Some(Class::Legitimate));
        // Ids are unique within a service only.
        assert_eq!(l.class("t", "e2"), None);
        assert_eq!(l.by_class(), (1, 1));
        assert_eq!(l.counts["unable_to_verify"], 1);
        // A service's own labels do not undo an analyst's verdict; a
        // chargeback does.
        l.add("s", "e3", "confirmed_fraud");
        l.add("s", "e3", "customer_confirmed");
        assert_eq!(l.class("s", "e3"), Some(Class::Fraud));
        l.add("s", "e4", "legitimate");
        l.add("s", "e4", "customer_denied");
        assert_eq!(l.class("s", "e4"), Some(Class::Legitimate));
        l.add("s", "e4", "chargeback");
        assert_eq!(l.class("s", "e4"), Some(Class::Fraud));
        l.add("s", "e4", "false_positive");
        assert_eq!(
            l.class("s", "e4"),
            Some(Class::Fraud),
            "an analyst does not undo a chargeback"
        );
    }
}
