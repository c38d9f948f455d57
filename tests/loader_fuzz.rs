//! Property tests: no input makes the loaders, lint or whatif panic, and
//! problems carry a message and a hint. The same entry points as the
//! cargo-fuzz targets in `fuzz/` (`zonechaos::fuzzing`), in a bounded run;
//! every file of `fuzz/corpus/` (seeds, and each crash a fuzzer ever found)
//! is replayed.

use proptest::prelude::*;
use zonechaos::fuzzing;

const TOPOLOGY: &str = include_str!("../suites/topologies/zone-pinned.yaml");
const SUITE: &str = include_str!("../suites/zone-c-spot-loss.yaml");
const PROFILE: &str = include_str!("../clusters/three-zones.yaml");

/// `seed` with the characters from `cut` to `cut + len` replaced.
fn mutate(seed: &str, cut: usize, len: usize, insert: &str) -> String {
    let boundary = |mut i: usize| {
        while !seed.is_char_boundary(i) {
            i -= 1;
        }
        i
    };
    let start = boundary(cut);
    let end = boundary((cut + len).min(seed.len()));
    format!("{}{}{}", &seed[..start], insert, &seed[end..])
}

/// Junk that breaks YAML in interesting ways: indentation, flow brackets,
/// quotes, anchors, numbers.
const JUNK: &str = "[ :\\-\\[\\]{}\"'&*!|>0-9a-z\\n]{0,12}";

proptest! {
    #![proptest_config(ProptestConfig { cases: 256, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_text_never_panics(text in "\\PC{0,400}") {
        fuzzing::topology(text.as_bytes());
    }

    #[test]
    fn arbitrary_bytes_never_panic(bytes in proptest::collection::vec(any::<u8>(), 0..512)) {
        fuzzing::topology(&bytes);
        fuzzing::suite(&bytes);
        fuzzing::profile(&bytes);
        fuzzing::cli(&bytes);
    }

    #[test]
    fn yaml_ish_text_never_panics(text in "([a-zA-Z]{1,8}: ?(\\[|\\{|-|[0-9]{1,3}|\"|[a-z]{0,5}|\\n  )){0,40}") {
        fuzzing::topology(text.as_bytes());
    }

    /// A real topology with a slice replaced by junk: broken indentation,
    /// wrong types, truncated documents.
    #[test]
    fn mutated_topology_never_panics(cut in 0usize..TOPOLOGY.len(), len in 0usize..40, insert in JUNK) {
        fuzzing::topology(mutate(TOPOLOGY, cut, len, &insert).as_bytes());
    }

    #[test]
    fn mutated_suite_never_panics(cut in 0usize..SUITE.len(), len in 0usize..40, insert in JUNK) {
        fuzzing::suite(mutate(SUITE, cut, len, &insert).as_bytes());
    }

    #[test]
    fn mutated_profile_never_panics(cut in 0usize..PROFILE.len(), len in 0usize..40, insert in JUNK) {
        fuzzing::profile(mutate(PROFILE, cut, len, &insert).as_bytes());
    }

    #[test]
    fn arbitrary_flags_never_panic(args in proptest::collection::vec("(--?[a-z-]{0,12}|[a-z0-9.:/-]{0,12}|1e308|NaN|-1)", 0..8)) {
        fuzzing::cli(args.join("\0").as_bytes());
    }
}

/// Every file of `fuzz/corpus/<target>/` (crashes and hostile seeds) and
/// of the project's own reference files (seeds not copied into the corpus)
/// through its target.
#[test]
fn the_fuzz_corpus_replays() {
    let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
    type Target = fn(&[u8]);
    let targets: [(&str, Target, &[&str]); 4] = [
        (
            "topology",
            fuzzing::topology,
            &["suites/topologies", "tests/fixtures/hostile"],
        ),
        ("suite", fuzzing::suite, &["suites"]),
        ("profile", fuzzing::profile, &["clusters"]),
        ("cli", fuzzing::cli, &[]),
    ];
    for (name, target, seeds) in targets {
        let corpus = format!("fuzz/corpus/{name}");
        let mut files = Vec::new();
        for dir in std::iter::once(corpus.as_str()).chain(seeds.iter().copied()) {
            let dir = repo.join(dir);
            let entries =
                std::fs::read_dir(&dir).unwrap_or_else(|e| panic!("{}: {e}", dir.display()));
            files.extend(
                entries
                    .map(|e| e.expect("corpus entry").path())
                    .filter(|p| p.is_file()),
            );
        }
        files.sort();
        assert!(files.len() > seeds.len(), "{name}: too few corpus files");
        for file in files {
            let bytes = std::fs::read(&file).expect("corpus file");
            target(&bytes);
        }
    }
}
