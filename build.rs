//! Tells the tests whether the pinned upstream CRDs sit beside the checkout
//! (`../shared/crds/`, or `ZONECHAOS_SHARED_CRDS`): tests that validate
//! against them are marked ignored without them, so nextest reports them as
//! skipped rather than passed. The product itself never reads that folder.

use std::path::PathBuf;

fn main() {
    println!("cargo::rustc-check-cfg=cfg(zonechaos_shared_crds)");
    println!("cargo::rerun-if-changed=build.rs");
    println!("cargo::rerun-if-env-changed=ZONECHAOS_SHARED_CRDS");
    let dir = std::env::var_os("ZONECHAOS_SHARED_CRDS")
        .map(PathBuf::from)
        .unwrap_or_else(|| {
            PathBuf::from(std::env::var_os("CARGO_MANIFEST_DIR").unwrap_or_default())
                .join("../shared/crds")
        });
    let complete = ["istio-1.30.3", "argo-rollouts-v1.9.1"]
        .iter()
        .all(|bundle| dir.join(bundle).is_dir());
    if complete {
        println!("cargo::rustc-cfg=zonechaos_shared_crds");
        // Rebuild when the folder changes (or goes away).
        println!("cargo::rerun-if-changed={}", dir.display());
    }
    println!(
        "cargo::rustc-env=ZONECHAOS_SHARED_CRDS_DIR={}",
        dir.display()
    );
}
