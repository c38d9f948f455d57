//! Suites: loading with file:line validation (the format itself is typed in
//! [`crate::spec`]), and the runner.

pub mod load;
pub mod runner;

pub use load::{Load, Step, Suite, SuiteError, load_suite, load_suite_str};
