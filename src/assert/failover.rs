//! Failover target after a zone is lost, and recovery after it returns.

use crate::assert::traffic::breakdown;
use crate::assert::{Check, Ctx, pct};
use crate::model::clock::SimDuration;
use crate::suite::format::{FailoverSpec, RecoverySpec};
use crate::suite::parse_percent;
use crate::zone::Zone;

/// Requests a window needs before it counts as evidence.
pub const MIN_EVIDENCE: u64 = 10;

fn dur(d: &Option<String>, default: u64) -> SimDuration {
    d.as_deref()
        .and_then(|t| crate::model::parse_duration(t).ok())
        .unwrap_or(SimDuration::secs(default))
}

/// After zone X is lost, at least S% of X's clients' requests succeed and
/// are served by the target zones, over the evidence window.
pub fn failover(a: &FailoverSpec, ctx: &Ctx<'_>) -> Check {
    let zone = Zone(a.zone.clone());
    let need = a.success.as_deref().and_then(parse_percent).unwrap_or(0.99);
    let Some(t0) = ctx.memory.last_disruption(&zone) else {
        return Check::new(
            false,
            format!("no chaos step disrupted {zone} before this assertion"),
            serde_json::Value::Null,
        );
    };
    let window = ctx.window(dur(&a.window, 10));
    let (total, ok, by) = breakdown(ctx, &zone, window);
    let to_targets: u64 = ctx
        .matrix
        .outcomes(&zone, window)
        .iter()
        .filter(|(o, _)| {
            o.serving_zone()
                .is_some_and(|s| a.to.iter().any(|t| t == s.as_str()))
        })
        .map(|(_, n)| n)
        .sum();
    let share = if total == 0 {
        0.0
    } else {
        to_targets as f64 / total as f64
    };
    let evidence = serde_json::json!({
        "disruptedAt_s": t0.as_secs_f64(), "window": window, "requests": total, "successes": ok,
        "servedByTargets": to_targets, "share": share, "required": need, "outcomes": by,
    });
    let since = ctx.now.since(t0);
    if total < MIN_EVIDENCE {
        return Check::new(
            false,
            format!(
                "{zone} clients sent only {total} requests in seconds {}..{}: no evidence",
                window.from, window.to
            ),
            evidence,
        );
    }
    let holds = share >= need;
    let message = if holds {
        format!(
            "{} of {zone} clients' requests served by {} {since} after the loss",
            pct(share),
            a.to.join("/")
        )
    } else {
        format!(
            "{} of {zone} clients' requests served by {} {since} after the loss (need {}); outcomes: {}",
            pct(share),
            a.to.join("/"),
            pct(need),
            summary(&by)
        )
    };
    Check::new(holds, message, evidence)
}

/// After a restore, zone X's clients are served in X again.
pub fn recovery(a: &RecoverySpec, ctx: &Ctx<'_>) -> Check {
    let zone = Zone(a.zone.clone());
    let need = a
        .local_share
        .as_deref()
        .and_then(parse_percent)
        .unwrap_or(0.99);
    let window = ctx.window(dur(&a.window, 10));
    let (total, _, by) = breakdown(ctx, &zone, window);
    let local: u64 = ctx
        .matrix
        .outcomes(&zone, window)
        .iter()
        .filter(|(o, _)| o.serving_zone() == Some(&zone))
        .map(|(_, n)| n)
        .sum();
    let share = if total == 0 {
        0.0
    } else {
        local as f64 / total as f64
    };
    let evidence = serde_json::json!({"window": window, "requests": total, "local": local, "share": share, "required": need, "outcomes": by});
    if total < MIN_EVIDENCE {
        return Check::new(
            false,
            format!("{zone} clients sent only {total} requests in the window: no evidence"),
            evidence,
        );
    }
    let holds = share >= need;
    let message = format!(
        "{} of {zone} clients' requests served in {zone} (need {}); outcomes: {}",
        pct(share),
        pct(need),
        summary(&by)
    );
    Check::new(holds, message, evidence)
}

fn summary(by: &std::collections::BTreeMap<String, u64>) -> String {
    by.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
