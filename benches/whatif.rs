//! `whatif` for every single-zone and every two-zone loss on a generated
//! topology of 1,000 services x 3 zones (one namespace per service: a
//! Service, three zone-pinned Rollouts, a DestinationRule with
//! failoverPriority on the zone, a VirtualService, three PDBs).
//!
//! `cargo bench --bench whatif`. Figures go to BENCHMARKS.md.

use std::time::{Duration, Instant};

use zonechaos::model::World;
use zonechaos::profile::ClusterProfile;
use zonechaos::topology::{Loaded, Topology, load_text};
use zonechaos::whatif::{Baseline, LossMode};
use zonechaos::zone::Zone;

const SERVICES: usize = 1000;

fn namespace(ns: &str) -> String {
    let mut out = format!(
        "apiVersion: v1\nkind: Service\nmetadata: {{name: svc, namespace: {ns}}}\nspec: {{selector: {{app: svc}}, ports: [{{port: 8080}}]}}\n---\napiVersion: networking.istio.io/v1\nkind: VirtualService\nmetadata: {{name: svc, namespace: {ns}}}\nspec:\n  hosts: [svc]\n  http: [{{name: primary, route: [{{destination: {{host: svc}}}}]}}]\n---\napiVersion: networking.istio.io/v1\nkind: DestinationRule\nmetadata: {{name: svc, namespace: {ns}}}\nspec:\n  host: svc\n  trafficPolicy:\n    outlierDetection: {{consecutive5xxErrors: 3, maxEjectionPercent: 100}}\n    loadBalancer: {{localityLbSetting: {{enabled: true, failoverPriority: [topology.kubernetes.io/zone]}}}}\n"
    );
    for z in ["a", "b", "c"] {
        out.push_str(&format!(
            "---\napiVersion: argoproj.io/v1alpha1\nkind: Rollout\nmetadata: {{name: svc-{z}, namespace: {ns}}}\nspec:\n  replicas: 3\n  selector: {{matchLabels: {{app: svc, zone: {z}}}}}\n  template:\n    metadata: {{labels: {{app: svc, zone: {z}}}}}\n    spec:\n      containers: [{{name: app, image: app:v1}}]\n      nodeSelector: {{topology.kubernetes.io/zone: us-east-1{z}}}\n  strategy: {{canary: {{steps: [{{setWeight: 50}}]}}}}\n---\napiVersion: policy/v1\nkind: PodDisruptionBudget\nmetadata: {{name: svc-{z}, namespace: {ns}}}\nspec: {{minAvailable: 1, selector: {{matchLabels: {{app: svc, zone: {z}}}}}}}\n"
        ));
    }
    out
}

fn main() {
    let mut loaded = Loaded::default();
    for i in 0..SERVICES {
        let ns = format!("team-{i:04}");
        load_text(
            std::sync::Arc::from(std::path::Path::new("bench.yaml")),
            &namespace(&ns),
            &mut loaded,
        );
    }
    assert!(loaded.issues.is_empty(), "{:?}", loaded.issues.first());
    let topology = Topology::new(loaded.objects);
    let profile = ClusterProfile::builtin();
    let build = Instant::now();
    let world = World::new(&topology, &profile, Default::default());
    let build = build.elapsed();
    let zones: Vec<Zone> = profile.zone_names().cloned().collect();
    let mut scenarios: Vec<Vec<Zone>> = zones.iter().map(|z| vec![z.clone()]).collect();
    for i in 0..zones.len() {
        for j in i + 1..zones.len() {
            scenarios.push(vec![zones[i].clone(), zones[j].clone()]);
        }
    }
    let targets: Vec<_> = world.mesh.services.clone();
    let mut samples: Vec<Duration> = Vec::new();
    let mut baselines: Vec<Duration> = Vec::new();
    let mut rows = 0;
    for _ in 0..5 {
        let t = Instant::now();
        // The intact state is predicted once; each scenario clones the world.
        let baseline = Baseline::new(&world, &targets, 50.0);
        baselines.push(t.elapsed());
        let all = baseline.lose_all(&scenarios, LossMode::Spot);
        rows = all
            .iter()
            .map(|w| w.services.iter().map(|s| s.zones.len()).sum::<usize>())
            .sum();
        std::hint::black_box(all);
        samples.push(t.elapsed());
    }
    baselines.sort();
    samples.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    println!(
        "whatif: {SERVICES} services x 3 zones ({} objects, {} pods), {} loss scenarios",
        topology.objects.len(),
        world.pods.len(),
        scenarios.len()
    );
    println!("  world build (once):                 {:8.1} ms", ms(build));
    println!(
        "  baseline (intact state), median of 5: {:6.1} ms",
        ms(baselines[2])
    );
    println!(
        "  baseline + all 6 scenarios, median of 5: {:6.1} ms",
        ms(samples[2])
    );
    println!(
        "  threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("  rows (scenario x service x client zone): {rows}");
}
