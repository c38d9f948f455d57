//! Failover target after a zone is lost, and recovery after it returns.

use crate::assert::tally::{Tally, share};
use crate::assert::{Check, Ctx, pct};
use crate::spec::{FailoverSpec, RecoverySpec};

/// Requests a window needs before it counts as evidence.
pub const MIN_EVIDENCE: u64 = 10;

/// After zone X is lost, at least S% of X's clients' requests succeed and
/// are served by the target zones, over the evidence window.
pub fn failover(a: &FailoverSpec, ctx: &Ctx<'_>) -> Check {
    let zone = &a.zone;
    let need = a.success.get();
    let Some(t0) = ctx.memory.last_disruption(zone) else {
        return Check::new(
            false,
            format!("no chaos step disrupted {zone} before this assertion"),
            serde_json::Value::Null,
        );
    };
    let window = ctx.window(a.window);
    let tally = Tally::of(ctx, zone, window);
    let (total, ok, by) = (tally.total(), tally.successes(), tally.breakdown());
    let to_targets = tally.served_where(|s| a.to.contains(s));
    let share = share(to_targets, total, 0.0);
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
            targets(a)
        )
    } else {
        format!(
            "{} of {zone} clients' requests served by {} {since} after the loss (need {}); outcomes: {}",
            pct(share),
            targets(a),
            pct(need),
            summary(&by)
        )
    };
    Check::new(holds, message, evidence)
}

/// After a restore, zone X's clients are served in X again.
pub fn recovery(a: &RecoverySpec, ctx: &Ctx<'_>) -> Check {
    let zone = &a.zone;
    let need = a.local_share.get();
    let window = ctx.window(a.window);
    let tally = Tally::of(ctx, zone, window);
    let (total, by) = (tally.total(), tally.breakdown());
    let local = tally.served_where(|s| s == zone);
    let share = share(local, total, 0.0);
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

/// The target zones as the messages name them (`us-east-1a/us-east-1b`).
fn targets(a: &FailoverSpec) -> String {
    a.to.iter()
        .map(|z| z.as_str())
        .collect::<Vec<_>>()
        .join("/")
}

fn summary(by: &std::collections::BTreeMap<String, u64>) -> String {
    by.iter()
        .map(|(k, n)| format!("{k}: {n}"))
        .collect::<Vec<_>>()
        .join(", ")
}
