//! sekimori-server
