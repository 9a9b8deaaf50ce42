//! sekimori-rules
