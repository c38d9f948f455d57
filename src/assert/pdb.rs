//! PDB behaviour during a zone drain.

use crate::assert::{Check, Ctx};
use crate::spec::PdbSpec;

/// The latest drain of zone X was blocked by budget P (refused evictions),
/// with N pods left, and every other budget's disruptionsAllowed unchanged.
pub fn pdb(a: &PdbSpec, ctx: &Ctx<'_>) -> Check {
    let zone = &a.drain_of;
    let Some(drain) = ctx.backend.last_drain(zone) else {
        return Check::new(
            false,
            format!("no drain of {zone} ran before this assertion"),
            serde_json::Value::Null,
        );
    };
    let by_budget = drain
        .refusals
        .iter()
        .filter(|(_, _, b)| b.as_deref() == Some(a.blocked_by.as_str()))
        .count();
    let now = ctx.backend.pdb_statuses();
    let changed: Vec<String> = drain
        .budgets_before
        .iter()
        .filter(|(name, _)| **name != a.blocked_by)
        .filter_map(|(name, before)| {
            let after = now.get(name)?;
            (after.disruptions_allowed != before.disruptions_allowed).then(|| {
                format!(
                    "{name}: {} -> {}",
                    before.disruptions_allowed, after.disruptions_allowed
                )
            })
        })
        .collect();
    let mut problems = Vec::new();
    if by_budget == 0 {
        problems.push(format!("no eviction was refused by {}", a.blocked_by));
    }
    if drain.finished == Some(true) {
        problems.push(format!("the drain of {zone} completed: nothing blocked it"));
    }
    if let Some(n) = a.pods_left
        && drain.pods_left != n
    {
        problems.push(format!(
            "{} pods left on {zone}, expected {n}",
            drain.pods_left
        ));
    }
    if a.others_unchanged && !changed.is_empty() {
        problems.push(format!("other budgets changed: {}", changed.join(", ")));
    }
    let evidence = serde_json::json!({
        "drainStarted_s": drain.started.as_secs_f64(), "finished": drain.finished, "evicted": drain.evicted,
        "refusals": drain.refusals.iter().map(|(t, p, b)| serde_json::json!({"at_s": t.as_secs_f64(), "pod": p, "pdb": b})).collect::<Vec<_>>(),
        "podsLeft": drain.pods_left, "budgetsBefore": drain.budgets_before, "budgetsNow": now,
    });
    if problems.is_empty() {
        Check::new(
            true,
            format!(
                "drain of {zone} blocked by {} ({by_budget} refused evictions, {} pods left); other budgets unchanged",
                a.blocked_by, drain.pods_left
            ),
            evidence,
        )
    } else {
        Check::new(false, problems.join("; "), evidence)
    }
}
