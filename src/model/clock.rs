//! Virtual time. The model runs on a virtual clock: a 5-minute pause costs
//! no wall time. Durations parse the way Kubernetes, Istio and Argo write
//! them (`500ms`, `10s`, `5m`, `1h30m`).

use std::fmt;
use std::ops::{Add, AddAssign, Sub};

/// A point on the virtual clock, in milliseconds since the run started.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct SimTime(pub u64);

/// A span of virtual time in milliseconds.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default, serde::Serialize)]
pub struct SimDuration(pub u64);

impl SimDuration {
    /// Whole seconds.
    pub const fn secs(s: u64) -> SimDuration {
        SimDuration(s * 1000)
    }
    /// Milliseconds.
    pub const fn millis(ms: u64) -> SimDuration {
        SimDuration(ms)
    }
    /// As fractional seconds.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// As a std Duration (for real clocks).
    pub fn to_std(self) -> std::time::Duration {
        std::time::Duration::from_millis(self.0)
    }
}

impl SimTime {
    /// As fractional seconds since start.
    pub fn as_secs_f64(self) -> f64 {
        self.0 as f64 / 1000.0
    }
    /// Time elapsed since an earlier instant (0 if `earlier` is later).
    pub fn since(self, earlier: SimTime) -> SimDuration {
        SimDuration(self.0.saturating_sub(earlier.0))
    }
}

impl Add<SimDuration> for SimTime {
    type Output = SimTime;
    fn add(self, d: SimDuration) -> SimTime {
        SimTime(self.0.saturating_add(d.0))
    }
}

impl AddAssign<SimDuration> for SimTime {
    fn add_assign(&mut self, d: SimDuration) {
        self.0 = self.0.saturating_add(d.0);
    }
}

impl Sub for SimTime {
    type Output = SimDuration;
    fn sub(self, rhs: SimTime) -> SimDuration {
        self.since(rhs)
    }
}

impl Add for SimDuration {
    type Output = SimDuration;
    fn add(self, d: SimDuration) -> SimDuration {
        SimDuration(self.0.saturating_add(d.0))
    }
}

impl fmt::Display for SimDuration {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let ms = self.0;
        if !ms.is_multiple_of(1000) {
            write!(f, "{:.1}s", ms as f64 / 1000.0)
        } else if ms >= 3_600_000 && ms.is_multiple_of(3_600_000) {
            write!(f, "{}h", ms / 3_600_000)
        } else if ms >= 60_000 && ms.is_multiple_of(60_000) {
            write!(f, "{}m", ms / 60_000)
        } else {
            write!(f, "{}s", ms / 1000)
        }
    }
}

impl fmt::Display for SimTime {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "t+{:.1}s", self.as_secs_f64())
    }
}

/// A duration that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("'{0}' is not a duration (write e.g. 500ms, 10s, 5m, 1h30m)")]
pub struct BadDuration(pub String);

/// Parses Go-style durations: a sequence of `<number><unit>` with units
/// ms, s, m, h (a bare integer means seconds, as Argo's pause accepts).
/// Every conversion is checked: a duration that does not fit in u64
/// milliseconds is refused, never wrapped.
pub fn parse_duration(text: &str) -> Result<SimDuration, BadDuration> {
    let bad = || BadDuration(crate::spec::quote(text));
    let t = text.trim();
    if t.is_empty() {
        return Err(bad());
    }
    if let Ok(secs) = t.parse::<u64>() {
        return secs.checked_mul(1000).map(SimDuration).ok_or_else(bad);
    }
    let mut total = 0f64;
    let mut rest = t;
    while !rest.is_empty() {
        let num_len = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .ok_or_else(bad)?;
        if num_len == 0 {
            return Err(bad());
        }
        let value: f64 = rest[..num_len].parse().map_err(|_| bad())?;
        rest = &rest[num_len..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let factor = match &rest[..unit_len] {
            "ms" => 1.0,
            "s" => 1000.0,
            "m" => 60_000.0,
            "h" => 3_600_000.0,
            _ => return Err(bad()),
        };
        total += value * factor;
        rest = &rest[unit_len..];
    }
    // u64::MAX as f64 rounds up to 2^64, so `<` keeps the cast exact.
    let ms = total.round();
    if !(ms.is_finite() && ms < u64::MAX as f64) {
        return Err(bad());
    }
    Ok(SimDuration(ms as u64))
}

impl<'de> serde::Deserialize<'de> for SimDuration {
    /// Suite files write durations as text (`30s`, `2m`, `1h30m`): a bare
    /// number is refused because its unit would be a guess.
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<SimDuration, D::Error> {
        struct V;
        impl serde::de::Visitor<'_> for V {
            type Value = SimDuration;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str("a duration such as 30s, 500ms or 2m")
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<SimDuration, E> {
                crate::limits::duration_field(v).map_err(E::custom)
            }
        }
        d.deserialize_str(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_go_durations() {
        assert_eq!(parse_duration("5m"), Ok(SimDuration::secs(300)));
        assert_eq!(parse_duration("1h30m"), Ok(SimDuration::secs(5400)));
        assert_eq!(parse_duration("500ms"), Ok(SimDuration(500)));
        assert_eq!(parse_duration("1.5s"), Ok(SimDuration(1500)));
        assert_eq!(parse_duration("30"), Ok(SimDuration::secs(30)));
        assert!(parse_duration("5 minutes").is_err());
        assert!(parse_duration("").is_err());
        assert!(parse_duration("m").is_err());
    }

    #[test]
    fn refuses_durations_that_overflow_instead_of_wrapping() {
        // 18446744073709552 s * 1000 wraps a u64 (it finished a run in 0.4 s).
        assert!(parse_duration("18446744073709552").is_err());
        assert!(parse_duration("18446744073709552s").is_err());
        assert!(parse_duration("1e400s").is_err());
        assert!(parse_duration("99999999999999999999h").is_err());
        assert_eq!(
            parse_duration("18446744073709551"),
            Ok(SimDuration(18_446_744_073_709_551_000))
        );
    }

    #[test]
    fn deserializes_text_only() {
        let d: SimDuration = serde_json::from_str("\"1m30s\"").unwrap();
        assert_eq!(d, SimDuration::secs(90));
        let e = serde_json::from_str::<SimDuration>("30")
            .unwrap_err()
            .to_string();
        assert!(e.contains("a duration such as 30s"), "{e}");
        let e = serde_json::from_str::<SimDuration>("\"soon\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'soon' is not a duration"), "{e}");
    }

    #[test]
    fn display_is_compact() {
        assert_eq!(SimDuration::secs(300).to_string(), "5m");
        assert_eq!(SimDuration::secs(50).to_string(), "50s");
        assert_eq!(SimDuration(1500).to_string(), "1.5s");
    }
}
