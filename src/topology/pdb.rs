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
/// Without minAvailable and maxUnavailable the budget asks nothing (0).
pub fn desired_healthy(
    spec: &PodDisruptionBudgetSpec,
    expected: i32,
) -> Result<i32, BadBudgetValue> {
    if let Some(min) = &spec.min_available {
        return scaled(min, expected);
    }
    if let Some(max) = &spec.max_unavailable {
        return Ok((expected - scaled(max, expected)?).max(0));
    }
    Ok(0)
}

/// Evictions the budget allows now.
pub fn disruptions_allowed(
    spec: &PodDisruptionBudgetSpec,
    expected: i32,
    healthy: i32,
) -> Result<i32, BadBudgetValue> {
    Ok((healthy - desired_healthy(spec, expected)?).max(0))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn spec(min: Option<IntOrString>, max: Option<IntOrString>) -> PodDisruptionBudgetSpec {
        PodDisruptionBudgetSpec {
            min_available: min,
            max_unavailable: max,
            ..Default::default()
        }
    }

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
