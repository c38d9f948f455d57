//! ZC2xxx: Argo Rollouts traffic routing with Istio (SEMANTICS.md §4).

use crate::lint::context::LintContext;
use crate::lint::finding::Findings;

/// Runs the Argo Rollouts rules.
pub fn check(_ctx: &LintContext<'_>, _out: &mut Findings) {}
