//! sekimori-store
