//! `zonechaos lint`: static conformance of the manifests a team deploys,
//! before any cluster exists.
//!
//! Rules have stable IDs ([`catalog`]); each finding names the resource,
//! points at file:line:col and says how to fix it.

pub mod catalog;
pub mod context;
pub mod finding;
pub mod output;
pub mod rules;
pub mod schema;

use std::collections::BTreeSet;
use std::path::PathBuf;

pub use context::LintContext;
pub use finding::{Finding, Findings, Rule, Severity};

use crate::profile::ClusterProfile;
use crate::topology::{Loaded, Topology};
use schema::CrdSchemas;

/// What to check and report.
#[derive(Debug, Clone, Default)]
pub struct LintOptions {
    /// Rule IDs or names not to report.
    pub suppress: BTreeSet<String>,
    /// Also report info-level findings about unknown kinds.
    pub verbose: bool,
}

/// The outcome of a lint run.
#[derive(Debug, Clone)]
pub struct LintReport {
    /// Findings, sorted by file and position.
    pub findings: Vec<Finding>,
    /// Files read.
    pub files: Vec<PathBuf>,
    /// Objects read.
    pub objects: usize,
    /// Some input could not be read as YAML at all (exit code 2).
    pub bad_input: bool,
}

impl LintReport {
    /// True when a finding at or above `threshold` exists.
    pub fn fails(&self, threshold: Severity) -> bool {
        self.findings.iter().any(|f| f.severity() >= threshold)
    }

    /// Number of findings of a severity.
    pub fn count(&self, severity: Severity) -> usize {
        self.findings
            .iter()
            .filter(|f| f.severity() == severity)
            .count()
    }
}

/// Lints loaded manifests against a cluster profile and, when given, the
/// CRD schemas.
pub fn lint(
    loaded: Loaded,
    profile: &ClusterProfile,
    schemas: Option<&CrdSchemas>,
    options: &LintOptions,
) -> LintReport {
    let mut out = Findings::default();
    let bad_input = rules::input::check(&loaded, options.verbose, &mut out);
    let topology = Topology::new(loaded.objects);
    let ctx = LintContext::new(&topology, profile);
    rules::check_all(&ctx, &mut out);
    schema::check_topology(schemas, &topology, &mut out);
    let suppressed: BTreeSet<&str> = options
        .suppress
        .iter()
        .filter_map(|s| catalog::find(s))
        .map(|r| r.id)
        .collect();
    let findings = out
        .into_sorted()
        .into_iter()
        .filter(|f| !suppressed.contains(f.rule.id))
        .collect();
    LintReport {
        findings,
        files: loaded.files,
        objects: topology.objects().len(),
        bad_input,
    }
}

/// Helpers for rule tests: lint a string or a seed fixture.
#[cfg(test)]
pub(crate) mod test_support {
    use std::path::Path;
    use std::sync::Arc;

    use super::{LintOptions, LintReport, lint};
    use crate::profile::ClusterProfile;
    use crate::topology::{Loaded, load_paths, load_text};

    /// Lints YAML text against the default profile, without CRD schemas
    /// (ZC4000 is filtered out so each test sees only its own rules).
    pub fn lint_str(yaml: &str) -> LintReport {
        let mut loaded = Loaded::default();
        load_text(Arc::from(Path::new("test.yaml")), yaml, &mut loaded);
        run(loaded)
    }

    /// Lints a file of `suites/fixtures/source-design/`.
    pub fn lint_seed(name: &str) -> LintReport {
        lint_path(
            &Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("suites/fixtures/source-design")
                .join(name),
        )
    }

    /// Lints a file or directory.
    pub fn lint_path(path: &Path) -> LintReport {
        run(load_paths(&[path]).expect("fixture readable"))
    }

    fn run(loaded: Loaded) -> LintReport {
        let options = LintOptions {
            suppress: ["ZC4000".to_owned()].into(),
            verbose: false,
        };
        lint(loaded, &ClusterProfile::builtin(), None, &options)
    }

    /// Rule IDs of a report, in finding order.
    pub fn ids(report: &LintReport) -> Vec<&'static str> {
        report.findings.iter().map(|f| f.rule.id).collect()
    }
}

#[cfg(test)]
mod reference_topology_tests {
    use super::Severity;
    use super::test_support::lint_path;

    #[test]
    fn reference_topologies_have_no_errors() {
        for name in ["zone-pinned.yaml", "zone-failover.yaml"] {
            let path = std::path::Path::new(env!("CARGO_MANIFEST_DIR"))
                .join("suites/topologies")
                .join(name);
            let r = lint_path(&path);
            let errors: Vec<_> = r
                .findings
                .iter()
                .filter(|f| f.severity() == Severity::Error)
                .collect();
            assert!(errors.is_empty(), "{name}: {errors:#?}");
        }
    }
}

#[cfg(test)]
mod scale_tests {
    use super::test_support::lint_str;
    use crate::topology::labels::work::evaluations;
    use crate::topology::test_support::failover_copies;

    /// Label-selector evaluations of one lint, and its findings.
    fn work(copies: usize) -> (u64, usize) {
        let before = evaluations();
        let report = lint_str(&failover_copies(copies));
        (evaluations() - before, report.findings.len())
    }

    /// issue 10 item 13: lint of N copies of the failover topology in one
    /// namespace cost N² (every Service, subset and PDB matched against
    /// every workload of the namespace). Counted, not timed: doubling the
    /// copies must about double the selector evaluations (a scan per
    /// object would quadruple them). The time is in BENCHMARKS.md.
    #[test]
    fn selector_work_grows_linearly_in_one_namespace() {
        let (small, findings_small) = work(40);
        let (large, findings_large) = work(80);
        assert!(small >= 40 * 3, "{small} evaluations for 40 copies");
        assert!(
            large * 10 <= small * 25,
            "{small} evaluations for 40 copies, {large} for 80"
        );
        assert_eq!(findings_large, 2 * findings_small);
    }
}
