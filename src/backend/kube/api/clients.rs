//! The harness's Kubernetes clients, built from one configuration.
//!
//! kube-rs adds a retry layer to every client built from a `Config`
//! (kube-client 5.0.0 src/client/builder.rs: `RetryPolicy::server_retry`,
//! 429/503/504, 15 retries with exponential backoff, when
//! `Config::default_retry` is true, its default). Right for lists, patches
//! and applies; wrong for evictions: the API server answers a PDB refusal
//! with 429 (kubernetes pkg/registry/core/pod/storage/eviction.go), so one
//! refused eviction would block inside the client for minutes before the
//! drain saw it, and a retry still running after a restore could evict the
//! last pod. Evictions get a client without that layer; the drain's own
//! loop paces and records every refusal, as `kubectl drain` does.

use kube::Client;

/// The two clients of one cluster connection.
#[derive(Clone)]
pub struct Clients {
    /// Everything but evictions: transient 429/503/504 retried.
    pub api: Client,
    /// Evictions (drains): every answer comes back at once.
    pub evictions: Client,
}

/// Builds both clients from `config`.
pub fn clients_for(config: kube::Config) -> Result<Clients, kube::Error> {
    let mut no_retry = config.clone();
    no_retry.default_retry = false;
    Ok(Clients {
        api: Client::try_from(config)?,
        evictions: Client::try_from(no_retry)?,
    })
}
