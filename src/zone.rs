//! Zones, regions and Istio localities as types, not strings.

use std::fmt;

/// An availability zone, as the node label `topology.kubernetes.io/zone` gives it (`us-east-1a`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Zone(pub smol_str::SmolStr);

/// A region, as the node label `topology.kubernetes.io/region` gives it (`us-east-1`).
#[derive(
    Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
#[serde(transparent)]
pub struct Region(pub String);

macro_rules! string_newtype {
    ($t:ident) => {
        impl fmt::Display for $t {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.0)
            }
        }
        impl $t {
            /// The name as text.
            pub fn as_str(&self) -> &str {
                &self.0
            }
        }
        impl From<&str> for $t {
            fn from(s: &str) -> Self {
                $t(s.into())
            }
        }
        impl From<String> for $t {
            fn from(s: String) -> Self {
                $t(s.into())
            }
        }
    };
}
string_newtype!(Zone);
string_newtype!(Region);

/// An Istio locality pattern `region[/zone[/subzone]]`, each part possibly `*`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct LocalityPattern {
    /// Region part.
    pub region: String,
    /// Zone part, when given.
    pub zone: Option<String>,
    /// Subzone part, when given.
    pub subzone: Option<String>,
}

impl LocalityPattern {
    /// Splits `a/b/c`; more than three parts is an error.
    pub fn parse(text: &str) -> Result<LocalityPattern, String> {
        let parts: Vec<&str> = text.split('/').collect();
        if parts.len() > 3 || parts.iter().any(|p| p.is_empty()) {
            return Err(format!(
                "'{text}' is not a locality: expected region[/zone[/subzone]]"
            ));
        }
        Ok(LocalityPattern {
            region: parts[0].to_owned(),
            zone: parts.get(1).map(|s| (*s).to_owned()),
            subzone: parts.get(2).map(|s| (*s).to_owned()),
        })
    }

    /// True when a concrete locality matches this pattern (missing parts and
    /// `*` match anything).
    pub fn matches(&self, region: &str, zone: &str, subzone: &str) -> bool {
        let ok = |p: Option<&str>, v: &str| p.is_none_or(|p| p == "*" || p == v);
        ok(Some(&self.region), region)
            && ok(self.zone.as_deref(), zone)
            && ok(self.subzone.as_deref(), subzone)
    }

    /// True when Istio's validateLocalities rejects `later` because this
    /// earlier entry already covers it: a `*` entry covers everything after
    /// it; a region entry covers its zones; `r/z` or `r/*` covers `r/z/...`;
    /// an exact repeat is covered. A wildcard after specific entries is
    /// accepted (it catches the rest), so the check depends on order.
    pub fn covers(&self, later: &LocalityPattern) -> bool {
        if self.region == "*" && self.zone.is_none() {
            return true;
        }
        if self.region != later.region {
            return false;
        }
        let Some(later_zone) = later.zone.as_deref() else {
            return true; // a region entry after anything of the same region
        };
        match self.zone.as_deref() {
            None | Some("*") => true,
            Some(zone) if zone != later_zone => false,
            Some(_) => match (self.subzone.as_deref(), later.subzone.as_deref()) {
                (_, None) | (None, _) | (Some("*"), _) => true,
                (Some(a), Some(b)) => a == b,
            },
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parse_and_match() {
        let p = LocalityPattern::parse("us-east-1/us-east-1a/*").unwrap();
        assert!(p.matches("us-east-1", "us-east-1a", "x"));
        assert!(!p.matches("us-east-1", "us-east-1b", "x"));
        assert!(LocalityPattern::parse("a/b/c/d").is_err());
        assert!(LocalityPattern::parse("a//c").is_err());
    }

    #[test]
    fn covers_follows_istio_order() {
        let p = |t: &str| LocalityPattern::parse(t).unwrap();
        assert!(p("us-east-1/*").covers(&p("us-east-1/us-east-1a")));
        assert!(!p("us-east-1/us-east-1a").covers(&p("us-east-1/*")));
        assert!(p("us-east-1").covers(&p("us-east-1/us-east-1a")));
        assert!(p("us-east-1/us-east-1a").covers(&p("us-east-1")));
        assert!(!p("us-east-1/us-east-1a").covers(&p("us-east-1/us-east-1b")));
        assert!(p("us-east-1/us-east-1a").covers(&p("us-east-1/us-east-1a/s1")));
        assert!(p("us-east-1/us-east-1a/*").covers(&p("us-east-1/us-east-1a/s1")));
        assert!(!p("us-east-1/us-east-1a/s2").covers(&p("us-east-1/us-east-1a/s1")));
        assert!(p("*").covers(&p("eu-west-1")));
    }
}
