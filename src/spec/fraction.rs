//! Shares and thresholds: a fraction in [0, 1], written `99%`, `0.5%` or
//! `0.99` in suite files.

use std::fmt;

use serde::de::{self, Deserializer, Visitor};

/// A fraction in [0, 1] (a success share, an error budget, a traffic share).
#[derive(Debug, Clone, Copy, PartialEq, PartialOrd, serde::Serialize)]
#[serde(transparent)]
pub struct Fraction(f64);

impl Fraction {
    /// Nothing at all.
    pub const ZERO: Fraction = Fraction(0.0);

    /// A fraction given in percent, for constants (`99.0` is 99%).
    pub const fn percent(p: f64) -> Fraction {
        Fraction(p / 100.0)
    }

    /// The fraction, `None` outside [0, 1] or not finite.
    pub fn new(value: f64) -> Option<Fraction> {
        (value.is_finite() && (0.0..=1.0).contains(&value)).then_some(Fraction(value))
    }

    /// The value in [0, 1].
    pub fn get(self) -> f64 {
        self.0
    }

    /// Parses `99%`, `0.5%` or a plain fraction `0.99`.
    pub fn parse(text: &str) -> Option<Fraction> {
        let t = text.trim();
        let value = match t.strip_suffix('%') {
            Some(p) => p.trim().parse::<f64>().ok()? / 100.0,
            None => t.parse::<f64>().ok()?,
        };
        Fraction::new(value)
    }
}

impl fmt::Display for Fraction {
    /// As a percentage without needless digits (`99%`, `0.5%`).
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let p = self.0 * 100.0;
        if (p - p.round()).abs() < 1e-9 {
            write!(f, "{}%", p.round())
        } else {
            write!(f, "{}%", (p * 1e6).round() / 1e6)
        }
    }
}

const EXPECTED: &str = "a share such as 99%, 0.5% or 0.99";

impl<'de> serde::Deserialize<'de> for Fraction {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Fraction, D::Error> {
        struct V;
        impl Visitor<'_> for V {
            type Value = Fraction;
            fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(EXPECTED)
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Fraction, E> {
                Fraction::parse(v).ok_or_else(|| {
                    E::custom(format!("'{}' is not {EXPECTED}", crate::spec::quote(v)))
                })
            }
            fn visit_f64<E: de::Error>(self, v: f64) -> Result<Fraction, E> {
                Fraction::new(v).ok_or_else(|| E::custom(format!("{v} is not {EXPECTED}")))
            }
            fn visit_u64<E: de::Error>(self, v: u64) -> Result<Fraction, E> {
                // Exact for 0 and 1 (the only whole numbers in range).
                self.visit_f64(v as f64)
            }
            fn visit_i64<E: de::Error>(self, v: i64) -> Result<Fraction, E> {
                self.visit_f64(v as f64)
            }
        }
        d.deserialize_any(V)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_percentages_and_fractions() {
        for (text, want) in [
            ("99%", Some(0.99)),
            ("0.5%", Some(0.005)),
            (" 100 % ", Some(1.0)),
            ("0.99", Some(0.99)),
            ("0", Some(0.0)),
            ("101%", None),
            ("-1%", None),
            ("1.5", None),
            ("NaN", None),
            ("inf", None),
            ("ninety", None),
            ("", None),
        ] {
            assert_eq!(Fraction::parse(text).map(Fraction::get), want, "{text:?}");
        }
    }

    #[test]
    fn deserializes_strings_and_numbers() {
        let f: Fraction = serde_json::from_str("\"99%\"").unwrap();
        assert_eq!(f.get(), 0.99);
        let f: Fraction = serde_json::from_str("0.25").unwrap();
        assert_eq!(f.get(), 0.25);
        let f: Fraction = serde_json::from_str("1").unwrap();
        assert_eq!(f.get(), 1.0);
        let e = serde_json::from_str::<Fraction>("2")
            .unwrap_err()
            .to_string();
        assert!(e.contains("is not a share such as 99%"), "{e}");
        let e = serde_json::from_str::<Fraction>("\"most\"")
            .unwrap_err()
            .to_string();
        assert!(e.contains("'most' is not a share"), "{e}");
        assert!(serde_json::from_str::<Fraction>("true").is_err());
    }

    #[test]
    fn displays_as_a_percentage() {
        assert_eq!(Fraction::percent(99.0).to_string(), "99%");
        assert_eq!(Fraction::parse("0.5%").unwrap().to_string(), "0.5%");
        assert_eq!(Fraction::ZERO.to_string(), "0%");
    }
}
