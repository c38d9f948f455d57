//! Property tests: no input makes the loader or lint panic, and problems
//! carry a position.

use std::path::Path;
use std::sync::Arc;

use proptest::prelude::*;
use zonechaos::lint::{LintOptions, lint};
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::{Loaded, load_text};

const SEED: &str = include_str!("../suites/topologies/zone-pinned.yaml");

fn lint_text(text: &str) {
    let mut loaded = Loaded::default();
    load_text(Arc::from(Path::new("fuzz.yaml")), text, &mut loaded);
    for issue in &loaded.issues {
        assert!(!issue.message.is_empty());
    }
    let report = lint(
        loaded,
        &ClusterProfile::builtin(),
        None,
        &LintOptions::default(),
    );
    for f in &report.findings {
        assert!(!f.message.is_empty() && !f.hint.is_empty(), "{f:?}");
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        lint_text(&text);
    }

    #[test]
    fn yaml_ish_text_never_panics(text in "([a-zA-Z]{1,8}: ?(\\[|\\{|-|[0-9]{1,3}|\"|[a-z]{0,5}|\\n  )){0,40}") {
        lint_text(&text);
    }

    #[test]
    fn mutated_topology_never_panics(cut in 0usize..SEED.len(), len in 0usize..40, insert in "[ :\\-\\[\\]{}\"'0-9a-z\\n]{0,12}") {
        // Replace a slice of a real topology with junk: broken indentation,
        // wrong types, truncated documents.
        let start = SEED.floor_char_boundary(cut);
        let end = SEED.floor_char_boundary((cut + len).min(SEED.len()));
        let text = format!("{}{}{}", &SEED[..start], insert, &SEED[end..]);
        lint_text(&text);
    }
}
