//! The answer to one ingested event, owned ([`Answer`]) or borrowed for
//! writing ([`AnswerRef`]): the same fields in the same order, so the same
//! bytes.

use sekimori_engine::Decision;
use serde::Serialize;

/// The answer to one ingested event.
#[derive(Clone, Debug, Serialize)]
pub struct Answer {
    pub decision: Decision,
    /// The id was seen before: this is the original decision.
    pub duplicate: bool,
    /// The event and decision are on disk.
    pub durable: bool,
    /// Set when the answer was given before the decision was durable:
    /// `time_budget_exceeded` (the engine had not decided in time: the
    /// pack's fallback for the type was answered) or `not_yet_durable` (the
    /// engine's own decision, answered before its fsync finished).
    #[serde(skip_serializing_if = "Option::is_none")]
    pub degraded: Option<&'static str>,
}

/// [`Answer`] by reference, for writing it without owning the decision:
/// the same fields in the same order, so the same bytes.
#[derive(Serialize)]
pub(crate) struct AnswerRef<'a> {
    decision: &'a Decision,
    duplicate: bool,
    durable: bool,
    #[serde(skip_serializing_if = "Option::is_none")]
    degraded: Option<&'static str>,
}

impl<'a> AnswerRef<'a> {
    pub(crate) fn of(answer: &'a Answer) -> AnswerRef<'a> {
        AnswerRef {
            decision: &answer.decision,
            duplicate: answer.duplicate,
            durable: answer.durable,
            degraded: answer.degraded,
        }
    }

    /// A new decision, durable (as [`Answer::decided`]).
    pub(crate) fn decided(decision: &'a Decision) -> AnswerRef<'a> {
        AnswerRef {
            decision,
            duplicate: false,
            durable: true,
            degraded: None,
        }
    }
}

impl Answer {
    /// A new decision, durable.
    pub(super) fn decided(decision: Decision) -> Answer {
        Answer {
            decision,
            duplicate: false,
            durable: true,
            degraded: None,
        }
    }
}
