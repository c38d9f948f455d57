//! The `format` values of a CRD schema that zonechaos checks.
//!
//! String formats follow kube-openapi's `strfmt` registry as the API server
//! uses it (k8s.io/apiextensions-apiserver pkg/apiserver/validation/
//! formats.go lists the supported ones; kube-openapi pkg/validation/strfmt/
//! default.go and time.go define them). `int32` and `int64` are not in that
//! list (the API server strips them), but the controllers and webhooks that
//! decode the object into Go structs reject an integer that does not fit,
//! so a value out of range never takes effect.

use super::duration;

/// A checked `format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Format {
    /// A 32-bit signed integer.
    Int32,
    /// A 64-bit signed integer (every YAML integer zonechaos reads fits).
    Int64,
    /// A duration (`strfmt.ParseDuration`).
    Duration,
    /// An RFC 3339 date-time (`strfmt.ParseDateTime`).
    DateTime,
    /// An RFC 3339 full-date (`2006-01-02`).
    Date,
    /// Standard base64 (`strfmt.Base64`).
    Byte,
}

impl Format {
    /// The format named in a schema; `None` for formats not checked here
    /// (`double`, `uri`, `email`, ... and unknown ones, which the API
    /// server ignores).
    pub(crate) fn parse(name: &str) -> Option<Format> {
        Some(match name {
            "int32" => Format::Int32,
            "int64" => Format::Int64,
            "duration" => Format::Duration,
            "date-time" | "datetime" => Format::DateTime,
            "date" => Format::Date,
            "byte" => Format::Byte,
            _ => return None,
        })
    }

    /// The name the CRD uses.
    pub(crate) fn name(self) -> &'static str {
        match self {
            Format::Int32 => "int32",
            Format::Int64 => "int64",
            Format::Duration => "duration",
            Format::DateTime => "date-time",
            Format::Date => "date",
            Format::Byte => "byte",
        }
    }

    /// What a valid value looks like, for hints.
    pub(crate) fn example(self) -> &'static str {
        match self {
            Format::Int32 => "an integer from -2147483648 to 2147483647",
            Format::Int64 => "an integer that fits 64 bits",
            Format::Duration => "a duration such as 30s, 5m or 1h30m",
            Format::DateTime => "an RFC 3339 date-time such as 2026-01-02T15:04:05Z",
            Format::Date => "an RFC 3339 date such as 2026-01-02",
            Format::Byte => "standard base64 (e.g. aGVsbG8=)",
        }
    }

    /// True when an integer has this format (string formats accept any).
    pub(crate) fn accepts_int(self, value: i64) -> bool {
        match self {
            Format::Int32 => i32::try_from(value).is_ok(),
            _ => true,
        }
    }

    /// True when a string has this format (integer formats accept any:
    /// a string under an int-or-string field is not an integer).
    pub(crate) fn accepts_str(self, text: &str) -> bool {
        match self {
            Format::Int32 | Format::Int64 => true,
            Format::Duration => duration::is_openapi_duration(text),
            Format::DateTime => is_date_time(text),
            Format::Date => is_date(text),
            Format::Byte => is_base64(text),
        }
    }
}

fn digits(text: &str, n: usize) -> Option<(u32, &str)> {
    let head = text.get(..n)?;
    if !head.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    Some((head.parse().ok()?, &text[n..]))
}

fn is_date(text: &str) -> bool {
    date_prefix(text).is_some_and(str::is_empty)
}

/// The rest after `YYYY-MM-DD`, when the date is a real one.
fn date_prefix(text: &str) -> Option<&str> {
    let (year, rest) = digits(text, 4)?;
    let rest = rest.strip_prefix('-')?;
    let (month, rest) = digits(rest, 2)?;
    let rest = rest.strip_prefix('-')?;
    let (day, rest) = digits(rest, 2)?;
    let leap = year % 4 == 0 && (year % 100 != 0 || year % 400 == 0);
    let days = match month {
        1 | 3 | 5 | 7 | 8 | 10 | 12 => 31,
        4 | 6 | 9 | 11 => 30,
        2 if leap => 29,
        2 => 28,
        _ => return None,
    };
    (1..=days).contains(&day).then_some(rest)
}

/// RFC 3339 `date-time` (`T` or `t` or a space between date and time, an
/// optional fraction, `Z` or a numeric offset), the layouts strfmt accepts.
fn is_date_time(text: &str) -> bool {
    let Some(rest) = date_prefix(text) else {
        return false;
    };
    let Some(rest) = rest
        .strip_prefix('T')
        .or_else(|| rest.strip_prefix('t'))
        .or_else(|| rest.strip_prefix(' '))
    else {
        return false;
    };
    let time = || -> Option<&str> {
        let (h, rest) = digits(rest, 2)?;
        let (m, rest) = digits(rest.strip_prefix(':')?, 2)?;
        let (s, mut rest) = digits(rest.strip_prefix(':')?, 2)?;
        if h > 23 || m > 59 || s > 60 {
            return None;
        }
        if let Some(frac) = rest.strip_prefix('.') {
            let n = frac.bytes().take_while(u8::is_ascii_digit).count();
            if n == 0 {
                return None;
            }
            rest = &frac[n..];
        }
        Some(rest)
    };
    let Some(zone) = time() else {
        return false;
    };
    match zone {
        "Z" | "z" => true,
        _ => {
            let Some(offset) = zone.strip_prefix('+').or_else(|| zone.strip_prefix('-')) else {
                return false;
            };
            matches!(
                (digits(offset, 2), offset.get(2..3), offset.get(3..)),
                (Some((h, _)), Some(":"), Some(m)) if h <= 23 && m.len() == 2 && digits(m, 2).is_some_and(|(m, _)| m <= 59)
            )
        }
    }
}

/// Standard base64 with padding, as Go's `base64.StdEncoding` decodes it.
fn is_base64(text: &str) -> bool {
    let bytes = text.as_bytes();
    if !bytes.len().is_multiple_of(4) {
        return false;
    }
    let pad = bytes.iter().rev().take_while(|&&b| b == b'=').count();
    pad <= 2
        && bytes[..bytes.len() - pad]
            .iter()
            .all(|b| b.is_ascii_alphanumeric() || *b == b'+' || *b == b'/')
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn integer_formats_bound_the_value() {
        assert!(Format::Int32.accepts_int(2_147_483_647));
        assert!(!Format::Int32.accepts_int(2_147_483_648));
        assert!(!Format::Int32.accepts_int(-2_147_483_649));
        assert!(Format::Int64.accepts_int(i64::MAX));
    }

    #[test]
    fn string_formats_follow_strfmt() {
        assert!(Format::DateTime.accepts_str("2026-01-02T15:04:05Z"));
        assert!(Format::DateTime.accepts_str("2026-01-02T15:04:05.123+02:00"));
        assert!(!Format::DateTime.accepts_str("2026-02-30T15:04:05Z"));
        assert!(!Format::DateTime.accepts_str("yesterday"));
        assert!(Format::Date.accepts_str("2024-02-29"));
        assert!(!Format::Date.accepts_str("2023-02-29"));
        assert!(Format::Byte.accepts_str("aGVsbG8="));
        assert!(!Format::Byte.accepts_str("not base64!"));
        assert!(Format::Duration.accepts_str("1h"));
        assert!(!Format::Duration.accepts_str("abc"));
        assert_eq!(Format::parse("double"), None);
    }
}
