//! The one rule every command that reads a topology follows: what lint
//! reports as an input error (ZC0001 syntax, ZC0002 wrong type, ZC0003 not
//! an object) is refused, never read around. A wrong-typed field leaves its
//! object opaque, so simulating it anyway would silently drop it (issue 10
//! item 2: a Rollout with `replicas: "three"` vanished from `whatif`).

use std::fmt;

use super::loader::{LoadIssue, Loaded};

/// How many problems an error message lists before "and N more".
const LISTED: usize = 10;

/// The input errors of a load, in file order (at least one).
#[derive(Debug, Clone, PartialEq)]
pub struct InputErrors(Vec<LoadIssue>);

impl InputErrors {
    /// The first problem (the place an error with one position points at).
    pub fn first(&self) -> &LoadIssue {
        &self.0[0]
    }

    /// All of them.
    pub fn issues(&self) -> &[LoadIssue] {
        &self.0
    }

    /// What to do about them.
    pub fn hint(&self) -> String {
        format!(
            "{} (`zonechaos lint` lists every problem)",
            self.first().hint
        )
    }
}

impl fmt::Display for InputErrors {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for (i, issue) in self.0.iter().take(LISTED).enumerate() {
            if i > 0 {
                writeln!(f)?;
            }
            write!(f, "{}: {}", issue.loc, issue.message)?;
        }
        if self.0.len() > LISTED {
            write!(f, "\nand {} more input errors", self.0.len() - LISTED)?;
        }
        Ok(())
    }
}

impl std::error::Error for InputErrors {}

impl Loaded {
    /// `Ok` when nothing was refused while loading; otherwise every
    /// problem. Every [`super::LoadIssueKind`] is an input error: a command
    /// that reads a topology must not go on with part of it.
    pub fn require_valid(&self) -> Result<(), InputErrors> {
        if self.issues.is_empty() {
            Ok(())
        } else {
            Err(InputErrors(self.issues.clone()))
        }
    }
}

#[cfg(test)]
mod tests {
    use crate::topology::LoadIssueKind;
    use crate::topology::loader::tests::load;

    /// issue 10 item 2: a wrong-typed field is refused, with its line.
    #[test]
    fn a_wrong_typed_field_is_refused_at_its_line() {
        let loaded = load(
            "apiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {name: r}\nspec:\n  replicas: three\n",
        );
        let err = loaded.require_valid().unwrap_err();
        assert_eq!(err.first().kind, LoadIssueKind::WrongType);
        assert!(err.to_string().starts_with("t.yaml:5:"), "{err}");
        assert!(err.hint().contains("zonechaos lint"), "{}", err.hint());
    }

    #[test]
    fn every_issue_kind_is_refused_and_long_lists_are_cut() {
        let not_object = "- 1\n---\n".repeat(12);
        let err = load(&not_object).require_valid().unwrap_err();
        assert_eq!(err.issues().len(), 12);
        assert!(
            err.to_string().ends_with("and 2 more input errors"),
            "{err}"
        );
        assert!(load("a: [\n").require_valid().is_err());
        assert!(
            load("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
                .require_valid()
                .is_ok()
        );
    }
}
