//! Reports of a run: terminal summary, JUnit XML, JSON, and a
//! self-contained HTML page with an SVG timeline per client zone.

pub mod model;

pub use model::{
    FailoverLatency, RunReport, StepResult, StepStatus, Timeline, TimelinePoint, Verdict,
};
