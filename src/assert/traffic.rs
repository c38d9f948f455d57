//! Traffic assertions over a window: zero cross-zone, error budget.

use std::collections::BTreeMap;

use crate::assert::{Check, Ctx, pct};
use crate::model::clock::SimDuration;
use crate::suite::format::{CrossZoneSpec, ErrorBudgetSpec};
use crate::suite::parse_percent;
use crate::telemetry::Outcome;
use crate::zone::Zone;

fn zones_or_all(zones: &[String], ctx: &Ctx<'_>) -> Vec<Zone> {
    if zones.is_empty() {
        ctx.client_zones.to_vec()
    } else {
        zones.iter().map(|z| Zone(z.clone())).collect()
    }
}

fn window_of(w: &Option<String>, ctx: &Ctx<'_>) -> crate::telemetry::Window {
    ctx.window(
        w.as_deref()
            .and_then(|t| crate::model::parse_duration(t).ok())
            .unwrap_or(SimDuration::secs(30)),
    )
}

/// For the listed client zones, no successful request served outside the
/// client's zone (or at most `maxShare`), with at least `minRequests`
/// successes per zone as evidence.
pub fn no_cross_zone(a: &CrossZoneSpec, ctx: &Ctx<'_>) -> Check {
    let window = window_of(&a.window, ctx);
    let max = a
        .max_share
        .as_deref()
        .and_then(parse_percent)
        .unwrap_or(0.0);
    let min = a.min_requests.unwrap_or(100);
    let mut evidence = BTreeMap::new();
    let mut problems = Vec::new();
    for zone in zones_or_all(&a.zones, ctx) {
        let outcomes = ctx.matrix.outcomes(&zone, window);
        let ok: u64 = outcomes
            .iter()
            .filter(|(o, _)| o.is_success())
            .map(|(_, n)| n)
            .sum();
        let cross: u64 = outcomes
            .iter()
            .filter(|(o, _)| o.serving_zone().is_some_and(|s| s != &zone))
            .map(|(_, n)| n)
            .sum();
        let share = if ok == 0 {
            0.0
        } else {
            cross as f64 / ok as f64
        };
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
    let window = window_of(&a.window, ctx);
    let max = a
        .max_errors
        .as_deref()
        .and_then(parse_percent)
        .unwrap_or(0.01);
    let min = a.min_requests.unwrap_or(100);
    let mut evidence = BTreeMap::new();
    let mut problems = Vec::new();
    for zone in zones_or_all(&a.zones, ctx) {
        let outcomes = ctx.matrix.outcomes(&zone, window);
        let total: u64 = outcomes.values().sum();
        let errors: BTreeMap<String, u64> = outcomes
            .iter()
            .filter(|(o, _)| !o.is_success())
            .map(|(o, n)| (o.to_string(), *n))
            .collect();
        let failed: u64 = errors.values().sum();
        let share = if total == 0 {
            1.0
        } else {
            failed as f64 / total as f64
        };
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

/// Successes of a client zone by serving zone, and errors, over a window.
pub fn breakdown(
    ctx: &Ctx<'_>,
    zone: &Zone,
    window: crate::telemetry::Window,
) -> (u64, u64, BTreeMap<String, u64>) {
    let outcomes = ctx.matrix.outcomes(zone, window);
    let total: u64 = outcomes.values().sum();
    let ok: u64 = outcomes
        .iter()
        .filter(|(o, _)| o.is_success())
        .map(|(_, n)| n)
        .sum();
    let by: BTreeMap<String, u64> = outcomes
        .iter()
        .map(|(o, n)| match o {
            Outcome::Served { zone, .. } => (format!("served by {zone}"), *n),
            e => (e.to_string(), *n),
        })
        .fold(BTreeMap::new(), |mut m, (k, n)| {
            *m.entry(k).or_default() += n;
            m
        });
    (total, ok, by)
}
