//! Zones, regions and Istio localities as types, not strings.

use std::fmt;

/// An availability zone, as the node label `topology.kubernetes.io/zone` gives it (`us-east-1a`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
#[serde(transparent)]
pub struct Zone(pub String);

/// A region, as the node label `topology.kubernetes.io/region` gives it (`us-east-1`).
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize)]
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
                $t(s.to_owned())
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

    fn parts(&self) -> [Option<&str>; 3] {
        [
            Some(self.region.as_str()),
            self.zone.as_deref(),
            self.subzone.as_deref(),
        ]
    }

    /// Wildcards must be whole parts and only the last given part may be `*`
    /// (Istio: "wildcard is allowed only at the end").
    pub fn wildcard_error(&self, text: &str) -> Option<String> {
        let given: Vec<&str> = self.parts().into_iter().flatten().collect();
        for (i, part) in given.iter().enumerate() {
            if part.contains('*') && *part != "*" {
                return Some(format!("'{text}': a wildcard must be a whole part, not '{part}'"));
            }
            if *part == "*" && i + 1 != given.len() {
                return Some(format!("'{text}': a wildcard is allowed only as the last part"));
            }
        }
        None
    }

    /// True when a concrete locality matches this pattern (missing parts and
    /// `*` match anything).
    pub fn matches(&self, region: &str, zone: &str, subzone: &str) -> bool {
        let ok = |p: Option<&str>, v: &str| p.is_none_or(|p| p == "*" || p == v);
        ok(Some(&self.region), region) && ok(self.zone.as_deref(), zone) && ok(self.subzone.as_deref(), subzone)
    }

    /// True when two patterns can match a common locality.
    pub fn overlaps(&self, other: &LocalityPattern) -> bool {
        self.parts()
            .into_iter()
            .zip(other.parts())
            .all(|(a, b)| match (a, b) {
                (Some(a), Some(b)) => a == "*" || b == "*" || a == b,
                _ => true,
            })
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
    fn wildcards() {
        let check = |t: &str| LocalityPattern::parse(t).unwrap().wildcard_error(t);
        assert!(check("us-east-1/*").is_none());
        assert!(check("*").is_none());
        assert!(check("*/us-east-1a").is_some());
        assert!(check("us-*/a").is_some());
    }

    #[test]
    fn overlaps() {
        let p = |t: &str| LocalityPattern::parse(t).unwrap();
        assert!(p("us-east-1/*").overlaps(&p("us-east-1/us-east-1a")));
        assert!(p("us-east-1").overlaps(&p("us-east-1/us-east-1a")));
        assert!(!p("us-east-1/us-east-1a").overlaps(&p("us-east-1/us-east-1b")));
    }
}
