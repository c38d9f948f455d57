//! Duration strings as the Go programs behind the API parse them.
//!
//! Two grammars matter: Go's `time.ParseDuration` (`1h30m`, `1.5s`, `300ms`;
//! Argo Rollouts' `RolloutPause.DurationSeconds`, Istio's webhook and CEL's
//! `duration()`) and kube-openapi's `strfmt.ParseDuration` (the `format:
//! duration` of a CRD schema, which also takes days, weeks and spaces:
//! `3 d`).

/// Nanoseconds of a Go duration string, or why it is not one. Mirrors Go's
/// `time.ParseDuration` (src/time/format.go): a sign, then one or more
/// decimal numbers each with a unit (`ns`, `us`, `µs`, `μs`, `ms`, `s`,
/// `m`, `h`); `0` alone is the only number without a unit.
pub(crate) fn parse_go(text: &str) -> Result<i128, &'static str> {
    let (negative, mut rest) = match text.as_bytes().first() {
        Some(b'-') => (true, &text[1..]),
        Some(b'+') => (false, &text[1..]),
        _ => (false, text),
    };
    if rest == "0" {
        return Ok(0);
    }
    if rest.is_empty() {
        return Err("it is empty");
    }
    let mut total: f64 = 0.0;
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !(c.is_ascii_digit() || c == '.'))
            .unwrap_or(rest.len());
        let number = &rest[..digits];
        if number.is_empty() || number == "." || number.matches('.').count() > 1 {
            return Err("a number is missing or malformed");
        }
        rest = &rest[digits..];
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c == '.')
            .unwrap_or(rest.len());
        let unit = &rest[..unit_len];
        rest = &rest[unit_len..];
        let scale = match unit {
            "ns" => 1.0,
            "us" | "µs" | "μs" => 1e3,
            "ms" => 1e6,
            "s" => 1e9,
            "m" => 60e9,
            "h" => 3600e9,
            "" => return Err("a number has no unit (ns, us, ms, s, m, h)"),
            _ => return Err("it has an unknown unit (use ns, us, ms, s, m or h)"),
        };
        let value: f64 = number.parse().map_err(|_| "a number is malformed")?;
        total += value * scale;
    }
    // Go rejects durations past ±292 years (int64 nanoseconds).
    if total > i64::MAX as f64 {
        return Err("it overflows (more than 292 years)");
    }
    let nanos = total.round() as i128;
    Ok(if negative { -nanos } else { nanos })
}

/// True when `text` is a duration to kube-openapi's `strfmt.ParseDuration`
/// (pkg/validation/strfmt/duration.go): Go's syntax, or one or more
/// `<integer><space?><unit>` pairs whose units include `d` and `w` (and
/// long names such as `hours`).
pub(crate) fn is_openapi_duration(text: &str) -> bool {
    if parse_go(text).is_ok() {
        return true;
    }
    const UNITS: [&str; 26] = [
        "ns", "us", "µs", "ms", "s", "m", "h", "d", "w", "sec", "secs", "second", "seconds", "min",
        "mins", "minute", "minutes", "hr", "hrs", "hour", "hours", "day", "days", "wk", "week",
        "weeks",
    ];
    let mut rest = text.trim();
    if rest.is_empty() {
        return false;
    }
    while !rest.is_empty() {
        let digits = rest
            .find(|c: char| !c.is_ascii_digit())
            .unwrap_or(rest.len());
        if digits == 0 {
            return false;
        }
        rest = rest[digits..].trim_start();
        let unit_len = rest
            .find(|c: char| c.is_ascii_digit() || c.is_whitespace())
            .unwrap_or(rest.len());
        if !UNITS.contains(&&rest[..unit_len]) {
            return false;
        }
        rest = rest[unit_len..].trim_start();
    }
    true
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn go_durations_parse_as_go_does() {
        assert_eq!(parse_go("1h30m"), Ok(5_400_000_000_000));
        assert_eq!(parse_go("1.5s"), Ok(1_500_000_000));
        assert_eq!(parse_go("-300ms"), Ok(-300_000_000));
        assert_eq!(parse_go("0"), Ok(0));
        assert!(parse_go("abc").is_err());
        assert!(parse_go("10").is_err(), "a bare number needs a unit");
        assert!(parse_go("").is_err());
        assert!(parse_go("5d").is_err(), "Go has no days");
        assert!(parse_go("1..2s").is_err());
    }

    #[test]
    fn openapi_durations_also_take_days_and_spaces() {
        assert!(is_openapi_duration("3 d"));
        assert!(is_openapi_duration("1w2d"));
        assert!(is_openapi_duration("90s"));
        assert!(!is_openapi_duration("garbage"));
        assert!(!is_openapi_duration(""));
    }
}
