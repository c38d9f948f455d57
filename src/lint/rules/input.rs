//! ZC0xxx: problems found while reading the input.

use crate::lint::catalog;
use crate::lint::finding::{Finding, Findings};
use crate::topology::{Kind, LoadIssueKind, Loaded};

/// Turns load issues into findings; with `verbose`, also notes objects of
/// kinds zonechaos does not model. Returns true when some file was not YAML.
pub fn check(loaded: &Loaded, verbose: bool, out: &mut Findings) -> bool {
    let mut bad_input = false;
    for issue in &loaded.issues {
        let rule = match issue.kind {
            LoadIssueKind::Syntax => {
                bad_input = true;
                &catalog::YAML_SYNTAX
            }
            LoadIssueKind::NotAnObject => &catalog::NOT_AN_OBJECT,
            LoadIssueKind::WrongType => &catalog::FIELD_TYPE,
        };
        out.push(Finding {
            loc: issue.loc.clone(),
            rule,
            object: issue.object.clone(),
            message: issue.message.clone(),
            hint: issue.hint.clone(),
        });
    }
    if verbose {
        for o in loaded.objects.iter().filter(|o| o.kind == Kind::Unknown) {
            out.at(
                &catalog::UNKNOWN_KIND,
                o,
                &[],
                format!(
                    "{}: {} is not a kind zonechaos models; not checked",
                    o.display_name(),
                    o.api_version
                ),
                "nothing to do unless it affects routing (e.g. a Sidecar or EnvoyFilter)",
            );
        }
    }
    bad_input
}
