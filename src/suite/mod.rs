//! Suites: the format, loading with file:line validation, and the runner.

pub mod format;
pub mod load;
pub mod runner;

pub use load::{Load, Step, Suite, SuiteError, load_suite, parse_percent};
