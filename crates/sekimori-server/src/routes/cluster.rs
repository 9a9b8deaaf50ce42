//! `GET /v1/cluster`: a node's place in its replicated shard. Served only
//! by `sekimori serve` with cluster options (`crate::cluster`, feature
//! `cluster`), by the leader and by a follower alike, without a key (load
//! balancers and health checks read it); an embedded server answers 404
//! `not_found`. The types live here so the document describes the route
//! whatever the build's features.

use crate::error::ErrorDetail;
use serde::Serialize;
use utoipa::ToSchema;

/// A node's role in its shard.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, ToSchema)]
#[serde(rename_all = "snake_case")]
pub enum ClusterRole {
    /// Holds the shard's lease and serves the whole API.
    Leader,
    /// Applies the shard's stream as a hot standby; answers every other
    /// route 503 `not_leader`.
    Follower,
}

/// `GET /v1/cluster`.
#[derive(Debug, Serialize, ToSchema)]
pub struct ClusterStatus {
    pub shard: String,
    pub node: String,
    pub role: ClusterRole,
    /// The last log sequence this node applied (0: none).
    pub applied_seq: u64,
    /// The engine's state digest (16 hex digits); null on a follower that
    /// has no engine yet (an empty stream).
    #[schema(pattern = "^[0-9a-f]{16}$")]
    pub state_digest: Option<String>,
    /// Leader only: the replicated log's status.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<&'static str>,
    /// Leader only: the lease term this node leads in.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub term: Option<u64>,
    /// The stream sequence this node's store started following from, when
    /// it joined with a snapshot.
    pub joined_from: Option<u64>,
}

/// A follower's answer to every route but `/healthz`, `/readyz` and
/// `/v1/cluster`: 503 `not_leader` (docs/errors.md, cluster).
pub fn not_leader() -> crate::error::ErrorBody {
    crate::error::ErrorBody {
        error: ErrorDetail {
            code: "not_leader",
            kind: "unavailable",
            message: "this node follows its shard; send to the shard's leader".into(),
            path: None,
            details: None,
        },
    }
}

/// A node of a replicated shard: its shard, role, applied sequence and
/// state digest (every node of a shard reaches the same digest at the same
/// sequence).
#[utoipa::path(get, path = "/v1/cluster", tag = "operations",
    responses(
        (status = 200, description = "This node's state", body = ClusterStatus),
        (status = 404, description = "`not_found`: this server is not a node of a replicated shard (no cluster options)", body = crate::error::ErrorBody)))]
#[allow(dead_code)] // describes the route; served by crate::cluster or below
pub(crate) async fn cluster_status() {}

/// `GET /v1/cluster` on a server that is not a node of a shard.
pub(crate) async fn not_a_cluster_node() -> crate::error::ApiError {
    crate::error::ApiError::new(
        "not_found",
        "this server is not a node of a replicated shard (started without cluster options)",
    )
}
