use std::path::Path;
use std::sync::{Arc, OnceLock};

use super::*;
use crate::lint::finding::Finding;
use crate::topology::{Loaded, load_text};

const CRDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/crds");
const SEEDS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../shared/fixtures/seeds");

fn real() -> &'static CrdSchemas {
    static REAL: OnceLock<CrdSchemas> = OnceLock::new();
    REAL.get_or_init(|| CrdSchemas::load(Path::new(CRDS)).expect("shared CRDs load"))
}

fn topology(file: &str, text: &str) -> Topology {
    let mut loaded = Loaded::default();
    load_text(Arc::from(Path::new(file)), text, &mut loaded);
    Topology::new(loaded.objects)
}

fn check(schemas: Option<&CrdSchemas>, text: &str) -> Vec<Finding> {
    let mut out = Findings::default();
    check_topology(schemas, &topology("t.yaml", text), &mut out);
    out.into_sorted()
}

#[test]
fn explore_seeds() {
    for entry in std::fs::read_dir(SEEDS).unwrap() {
        let p = entry.unwrap().path();
        let text = std::fs::read_to_string(&p).unwrap();
        let mut out = Findings::default();
        check_topology(Some(real()), &topology(p.file_name().unwrap().to_str().unwrap(), &text), &mut out);
        for f in out.into_sorted() {
            eprintln!("{} {} {} | {} | {}", f.loc, f.rule.id, f.object.clone().unwrap_or_default(), f.message, f.hint);
        }
    }
}

#[test]
fn explore_errors() {
    let r = real();
    eprintln!("crds={} vs={:?}", r.len(), r.served_versions("networking.istio.io", "VirtualService"));
    let text = "apiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {name: x}\nspec:\n  host: h\n  trafficPolicy:\n    tls: {mode: strict}\n    outlierDetection:\n      consecutive5xxError: 3\n  subsets:\n    - labels: {a: 1}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {name: v}\nspec:\n  http:\n  - route:\n    - weight: \"5\"\n      destination: {host: 3}\n    - weight:\n";
    for f in check(Some(r), text) {
        eprintln!("{} {} | {} | {}", f.loc, f.rule.id, f.message, f.hint);
    }
}
