//! sekimori-window
