//! Envoy outlier-detection arithmetic shared by lint and the mesh model.

/// Istio's default when `maxEjectionPercent` is not set (Envoy default 10).
pub const DEFAULT_MAX_EJECTION_PERCENT: i64 = 10;

/// How many of `hosts` can be ejected at once under `max_ejection_percent`.
/// Envoy ejects while the ejected share is below the limit, and always
/// allows at least one ejection.
pub fn max_ejectable_hosts(hosts: u32, max_ejection_percent: i64) -> u32 {
    if hosts == 0 {
        return 0;
    }
    let pct = max_ejection_percent.clamp(0, 100) as u64;
    let n = u64::from(hosts);
    // Smallest k with k/n*100 >= pct is ceil(n*pct/100); ejection stops there.
    let limit = (n * pct).div_ceil(100) as u32;
    limit.clamp(1, hosts)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ejection_limits() {
        assert_eq!(max_ejectable_hosts(9, 10), 1);
        assert_eq!(max_ejectable_hosts(9, 34), 4);
        assert_eq!(max_ejectable_hosts(10, 30), 3);
        assert_eq!(max_ejectable_hosts(3, 100), 3);
        assert_eq!(max_ejectable_hosts(3, 0), 1);
        assert_eq!(max_ejectable_hosts(0, 50), 0);
    }
}
