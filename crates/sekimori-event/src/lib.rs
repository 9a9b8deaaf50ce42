//! sekimori-event
