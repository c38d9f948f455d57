//! The traffic matrix every assertion reads: client zone x serving zone x
//! outcome, per second. The model fills it from its own counters; the local
//! and kind backends fill it from PromQL.

pub mod istio;
pub mod matrix;
pub mod prometheus;
pub mod promql;
pub mod query;
pub mod records;
pub mod source;

pub use matrix::{NO_ANSWER, Outcome, TrafficMatrix, Window};
pub use source::{Scrape, TelemetrySource};
