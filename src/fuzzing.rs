//! Entry points for fuzzing the loaders (issue 10, "how to keep it so"):
//! the cargo-fuzz targets in `fuzz/` and the bounded proptest run in
//! `tests/loader_fuzz.rs` call the same functions, so a crash the fuzzer
//! finds is a regression case of the normal test run (`fuzz/corpus/`).
//!
//! Each function takes arbitrary bytes and panics only when an invariant of
//! the product breaks: a panic inside the loaders, an error without a
//! message or a hint, a refusal without a position, or a command that would
//! go on with an input lint calls broken.

use std::path::Path;
use std::sync::Arc;

use crate::lint::{LintOptions, lint};
use crate::profile::ClusterProfile;
use crate::topology::{Loaded, Topology, load_text};
use crate::whatif::{LossMode, Targets, render, whatif};
use crate::zone::Zone;

/// A topology: loaded, linted, and (when lint finds no input error and the
/// limits hold) predicted by `whatif` for the loss of each zone, rendered.
pub fn topology(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let mut loaded = Loaded::default();
    load_text(Arc::from(Path::new("fuzz.yaml")), &text, &mut loaded);
    for issue in &loaded.issues {
        assert!(
            !issue.message.is_empty() && !issue.hint.is_empty(),
            "{issue:?}"
        );
    }
    let valid = loaded.require_valid().is_ok();
    let objects = loaded.objects.clone();
    let profile = ClusterProfile::builtin();
    let report = lint(loaded, &profile, None, &LintOptions::default());
    for finding in &report.findings {
        assert!(
            !finding.message.is_empty() && !finding.hint.is_empty(),
            "{finding:?}"
        );
    }
    let input_errors = report
        .findings
        .iter()
        .any(|f| matches!(f.rule.id, "ZC0001" | "ZC0002" | "ZC0003"));
    // The commands' refusal and lint's input findings are the same rule.
    assert_eq!(valid, !input_errors, "require_valid and lint disagree");
    if !valid {
        return;
    }
    let topology = Topology::new(objects);
    if crate::limits::check_topology(&topology, crate::limits::MAX_PODS).is_err() {
        return;
    }
    let zones: Vec<Zone> = profile.zone_names().cloned().collect();
    for zone in zones {
        if let Ok(w) = whatif(
            &topology,
            &profile,
            Targets::All,
            &[zone],
            LossMode::Spot,
            50.0,
        ) {
            assert!(!render(&w).is_empty());
        }
    }
}

/// A suite file, as if it were `suites/fuzz.yaml` of this repository (so
/// its topology references resolve against the real reference files).
pub fn suite(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    let path = Path::new(env!("CARGO_MANIFEST_DIR")).join("suites/fuzz.yaml");
    if let Err(e) = crate::suite::load_suite_str(&text, &path) {
        assert!(!e.message.is_empty() && !e.hint.is_empty(), "{e:?}");
        assert!(
            e.message.len() < 2_000,
            "error echoes its input: {} bytes",
            e.message.len()
        );
    }
}

/// A cluster profile.
pub fn profile(data: &[u8]) {
    let text = String::from_utf8_lossy(data);
    if let Err(e) = ClusterProfile::parse(&text, Path::new("fuzz-profile.yaml")) {
        assert!(!e.message.is_empty() && !e.hint.is_empty(), "{e:?}");
    }
}

/// Command-line flags: `data` split at NUL bytes into arguments after
/// `zonechaos`. Only parsed (running would touch the file system).
pub fn cli(data: &[u8]) {
    use clap::Parser;
    let args = std::iter::once("zonechaos".to_owned()).chain(
        data.split(|b| *b == 0)
            .map(|a| String::from_utf8_lossy(a).into_owned()),
    );
    if let Err(e) = crate::cli::Cli::try_parse_from(args) {
        // Rendering the message must not panic either.
        let _ = e.render().to_string();
    }
}
