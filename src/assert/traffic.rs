//! Traffic assertions over a window: zero cross-zone, error budget.

use std::collections::BTreeMap;

use crate::assert::tally::{Tally, share};
use crate::assert::{Check, Ctx, pct};
use crate::spec::{CrossZoneSpec, ErrorBudgetSpec};
use crate::zone::Zone;

fn zones_or_all(zones: &[Zone], ctx: &Ctx<'_>) -> Vec<Zone> {
    if zones.is_empty() {
        ctx.client_zones.to_vec()
    } else {
        zones.to_vec()
    }
}

/// For the listed client zones, no successful request served outside the
/// client's zone (or at most `maxShare`), with at least `minRequests`
/// successes per zone as evidence.
pub fn no_cross_zone(a: &CrossZoneSpec, ctx: &Ctx<'_>) -> Check {
    let window = ctx.window(a.window);
    let max = a.max_share.get();
    let min = a.min_requests;
    let mut evidence = BTreeMap::new();
    let mut problems = Vec::new();
    for zone in zones_or_all(&a.zones, ctx) {
        let tally = Tally::of(ctx, &zone, window);
        let ok = tally.successes();
        let cross = tally.served_where(|s| s != &zone);
        let share = share(cross, ok, 0.0);
        evidence.insert(
            zone.to_string(),
            serde_json::json!({"successes": ok, "crossZone": cross, "share": share}),
        );
        if ok < min {
            problems.push(format!(
                "{zone}: only {ok} successful requests in the window (need {min}): no evidence"
            ));
        } else if share > max {
            problems.push(format!(
                "{zone}: {cross} of {ok} successes ({}) served in other zones, allowed {}",
                pct(share),
                pct(max)
            ));
        }
    }
    let holds = problems.is_empty();
    let message = if holds {
        format!(
            "no cross-zone traffic above {} in seconds {}..{}",
            pct(max),
            window.from,
            window.to
        )
    } else {
        problems.join("; ")
    };
    Check::new(
        holds,
        message,
        serde_json::json!({"window": window, "maxShare": max, "minRequests": min, "zones": evidence}),
    )
}

/// At most `maxErrors` non-2xx per client zone over the window.
pub fn error_budget(a: &ErrorBudgetSpec, ctx: &Ctx<'_>) -> Check {
    let window = ctx.window(a.window);
    let max = a.max_errors.get();
    let min = a.min_requests;
    let mut evidence = BTreeMap::new();
    let mut problems = Vec::new();
    for zone in zones_or_all(&a.zones, ctx) {
        let tally = Tally::of(ctx, &zone, window);
        let total = tally.total();
        let errors = tally.errors();
        let failed: u64 = errors.values().sum();
        // No traffic at all counts as all failed: fail closed.
        let share = share(failed, total, 1.0);
        evidence.insert(
            zone.to_string(),
            serde_json::json!({"requests": total, "errors": errors, "share": share}),
        );
        if total < min {
            problems.push(format!(
                "{zone}: only {total} requests in the window (need {min}): no evidence"
            ));
        } else if share > max {
            let top = errors
                .iter()
                .max_by_key(|(_, n)| **n)
                .map(|(k, _)| k.clone())
                .unwrap_or_default();
            problems.push(format!(
                "{zone}: {failed} of {total} requests failed ({}, mostly {top}), budget {}",
                pct(share),
                pct(max)
            ));
        }
    }
    let holds = problems.is_empty();
    let message = if holds {
        format!(
            "every zone within the {} error budget in seconds {}..{}",
            pct(max),
            window.from,
            window.to
        )
    } else {
        problems.join("; ")
    };
    Check::new(
        holds,
        message,
        serde_json::json!({"window": window, "maxErrors": max, "minRequests": min, "zones": evidence}),
    )
}
