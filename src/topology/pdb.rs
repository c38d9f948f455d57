//! PodDisruptionBudget arithmetic as the Kubernetes disruption controller
//! computes it (pkg/controller/disruption): desiredHealthy from minAvailable
//! (int or percent, rounded up) or from expected - maxUnavailable (percent
//! rounded up), and disruptionsAllowed = healthy - desiredHealthy.

use k8s_openapi::api::policy::v1::PodDisruptionBudgetSpec;
use k8s_openapi::apimachinery::pkg::util::intstr::IntOrString;

/// A budget value that could not be read (`"abc%"`).
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is neither an integer nor a percentage")]
pub struct BadBudgetValue(pub String);

/// Scales an int-or-percent against `total`, rounding percentages up.
pub fn scaled(value: &IntOrString, total: i32) -> Result<i32, BadBudgetValue> {
    match value {
        IntOrString::Int(i) => Ok(*i),
        IntOrString::String(s) => {
            let pct: i64 = s
                .strip_suffix('%')
                .and_then(|p| p.trim().parse().ok())
                .ok_or_else(|| BadBudgetValue(s.clone()))?;
            let scaled = (pct * i64::from(total) + 99).div_euclid(100);
            Ok(i32::try_from(scaled).unwrap_or(i32::MAX))
        }
    }
}

/// How many pods must stay healthy, for `expected` pods behind the budget.
/// maxUnavailable is read first, as the disruption controller does
/// (disruption.go getExpectedPodCount); without either the budget asks
/// nothing (0).
pub fn desired_healthy(
    spec: &PodDisruptionBudgetSpec,
    expected: i32,
) -> Result<i32, BadBudgetValue> {
    if let Some(max) = &spec.max_unavailable {
        return Ok((expected - scaled(max, expected)?).max(0));
    }
    if let Some(min) = &spec.min_available {
        return scaled(min, expected);
    }
    Ok(0)
}

/// What a budget's expected pod count is read from
/// (disruption.go getExpectedPodCount).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ExpectedFrom {
    /// The scale of the pods' controllers (maxUnavailable, or a percentage
    /// minAvailable).
    ControllerScale,
    /// The number of pods the selector matches (integer minAvailable).
    MatchingPods,
    /// Neither field: nothing is expected (0), so nothing may be disrupted.
    Nothing,
}

impl ExpectedFrom {
    /// Where `spec` takes its expected count from.
    pub fn of(spec: &PodDisruptionBudgetSpec) -> ExpectedFrom {
        match (&spec.max_unavailable, &spec.min_available) {
            (Some(_), _) | (None, Some(IntOrString::String(_))) => ExpectedFrom::ControllerScale,
            (None, Some(IntOrString::Int(_))) => ExpectedFrom::MatchingPods,
            (None, None) => ExpectedFrom::Nothing,
        }
    }
}

/// Evictions the budget allows now: healthy - desiredHealthy, and 0 while
/// it expects no pods (disruption.go updatePdbStatus: a budget that
/// matches nothing yet stays safe when its first pods appear).
pub fn disruptions_allowed(
    spec: &PodDisruptionBudgetSpec,
    expected: i32,
    healthy: i32,
) -> Result<i32, BadBudgetValue> {
    if expected <= 0 {
        return Ok(0);
    }
    Ok((healthy - desired_healthy(spec, expected)?).max(0))
}

/// `spec.unhealthyPodEvictionPolicy`: whether a Running pod that is not
/// Ready may be evicted (eviction.go; KEP-3017).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum UnhealthyPodEvictionPolicy {
    /// The default: only while the budget is healthy (currentHealthy >=
    /// desiredHealthy > 0); otherwise it must pass the budget like any pod.
    IfHealthyBudget,
    /// Always, without consuming the budget.
    AlwaysAllow,
}

impl UnhealthyPodEvictionPolicy {
    /// The policy `spec` names (`IfHealthyBudget` when unset).
    pub fn of(spec: &PodDisruptionBudgetSpec) -> UnhealthyPodEvictionPolicy {
        match spec.unhealthy_pod_eviction_policy.as_deref() {
            Some("AlwaysAllow") => UnhealthyPodEvictionPolicy::AlwaysAllow,
            _ => UnhealthyPodEvictionPolicy::IfHealthyBudget,
        }
    }

    /// True when a not-Ready pod may be evicted without consuming a
    /// disruption, given the budget's current and desired healthy counts.
    pub fn lets_unready_go(self, current_healthy: i32, desired_healthy: i32) -> bool {
        match self {
            UnhealthyPodEvictionPolicy::AlwaysAllow => true,
            UnhealthyPodEvictionPolicy::IfHealthyBudget => {
                current_healthy >= desired_healthy && desired_healthy > 0
            }
        }
    }
}

/// A budget spec with just these two fields (tests and examples).
pub fn budget_spec(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudgetSpec {
    PodDisruptionBudgetSpec {
        min_available: min,
        max_unavailable: max,
        ..Default::default()
    }
}

#[cfg(test)]
mod tests {
    use super::budget_spec as spec;
    use super::*;

    #[test]
    fn min_available_int_and_percent_round_up() {
        let s = spec(Some(IntOrString::Int(1)), None);
        assert_eq!(disruptions_allowed(&s, 3, 3), Ok(2));
        assert_eq!(disruptions_allowed(&s, 3, 1), Ok(0));
        let s = spec(Some(IntOrString::String("50%".into())), None);
        assert_eq!(desired_healthy(&s, 3), Ok(2)); // 1.5 rounds up
    }

    #[test]
    fn max_unavailable() {
        let s = spec(None, Some(IntOrString::Int(0)));
        assert_eq!(disruptions_allowed(&s, 3, 3), Ok(0));
        let s = spec(None, Some(IntOrString::String("34%".into())));
        assert_eq!(desired_healthy(&s, 3), Ok(1)); // 1.02 rounds up to 2 unavailable
        assert!(scaled(&IntOrString::String("x%".into()), 3).is_err());
    }
}
