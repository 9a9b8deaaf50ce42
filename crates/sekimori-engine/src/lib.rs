//! sekimori-engine
