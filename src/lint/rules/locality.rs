//! ZC1xxx: DestinationRule locality load balancing and outlier detection (SEMANTICS.md §3).

use crate::lint::context::LintContext;
use crate::lint::finding::Findings;

/// Runs the locality rules.
pub fn check(_ctx: &LintContext<'_>, _out: &mut Findings) {}
