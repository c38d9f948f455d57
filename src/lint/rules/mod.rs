//! The rules, grouped by what they know about. Each module exposes
//! `check(ctx, findings)`.

pub mod argo;
pub mod client_rules;
pub mod input;
pub mod locality;
pub mod zone;

use super::context::LintContext;
use super::finding::Findings;

/// Runs every topology rule.
pub fn check_all(ctx: &LintContext<'_>, out: &mut Findings) {
    locality::check(ctx, out);
    client_rules::check(ctx, out);
    argo::check(ctx, out);
    zone::check(ctx, out);
}
