//! ZC3xxx: zone topology (SEMANTICS.md §1, §2).

use crate::lint::context::LintContext;
use crate::lint::finding::Findings;

/// Runs the zone rules.
pub fn check(_ctx: &LintContext<'_>, _out: &mut Findings) {}
