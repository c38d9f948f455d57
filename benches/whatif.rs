//! `whatif` for every single-zone and every two-zone loss on a generated
//! topology of 1,000 services x 3 zones (one namespace per service: a
//! Service, three zone-pinned Rollouts, a DestinationRule with
//! failoverPriority on the zone, a VirtualService, three PDBs).
//!
//! Then the growth inside one namespace: every Service of 100 to 100,000
//! objects (copies of the failover topology with distinct names, all in
//! namespace `team`), the same six scenarios.
//!
//! `cargo bench --bench whatif`; `-- 100 1000` measures only those
//! one-namespace sizes. Figures go to BENCHMARKS.md.

mod common;

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

/// Every single-zone and every two-zone loss of the profile's zones.
fn scenarios(profile: &ClusterProfile) -> Vec<Vec<Zone>> {
    let zones: Vec<Zone> = profile.zone_names().cloned().collect();
    let mut scenarios: Vec<Vec<Zone>> = zones.iter().map(|z| vec![z.clone()]).collect();
    for i in 0..zones.len() {
        for j in i + 1..zones.len() {
            scenarios.push(vec![zones[i].clone(), zones[j].clone()]);
        }
    }
    scenarios
}

/// Median world build, baseline, baseline + every scenario (wall), and
/// the CPU time of build + baseline + every scenario (both threads), in
/// ms, and the rows of one run.
fn measure(topology: &Topology, profile: &ClusterProfile, runs: usize) -> ([f64; 4], usize) {
    let scenarios = scenarios(profile);
    let (mut builds, mut baselines, mut samples) = (Vec::new(), Vec::new(), Vec::new());
    let mut cpus = Vec::new();
    let mut rows = 0;
    for _ in 0..runs {
        let cpu = common::cpu_time();
        let build = Instant::now();
        let world = World::new(topology, profile, Default::default());
        builds.push(build.elapsed());
        let targets: Vec<_> = world.mesh.services.clone();
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
        cpus.push(common::cpu_time().saturating_sub(cpu));
    }
    let median = |mut v: Vec<Duration>| {
        v.sort();
        v[v.len() / 2].as_secs_f64() * 1000.0
    };
    (
        [
            median(builds),
            median(baselines),
            median(samples),
            median(cpus),
        ],
        rows,
    )
}

/// Fastest of `runs` of the baseline, of one scenario's `lose` and of all
/// six scenarios in turn, each on this thread alone, in ms: the cost
/// without the second thread's contention, steadier on a noisy machine
/// than the wall time.
fn one_thread(topology: &Topology, profile: &ClusterProfile, runs: usize) -> [f64; 3] {
    let world = World::new(topology, profile, Default::default());
    let targets: Vec<_> = world.mesh.services.clone();
    let scenarios = scenarios(profile);
    let mut best = [f64::MAX; 3];
    let ms = |t: Instant| t.elapsed().as_secs_f64() * 1000.0;
    for _ in 0..runs {
        let t = Instant::now();
        let baseline = Baseline::new(&world, &targets, 50.0);
        best[0] = best[0].min(ms(t));
        let all = Instant::now();
        for lost in &scenarios {
            let t = Instant::now();
            std::hint::black_box(baseline.lose(lost, LossMode::Spot));
            best[1] = best[1].min(ms(t));
        }
        best[2] = best[2].min(ms(all));
    }
    best
}

fn one_namespace(profile: &ClusterProfile) {
    println!("whatif: one namespace, copies of the failover topology, every Service, 6 scenarios");
    println!(
        "  objects  services  world build ms  baseline ms  baseline+6 ms  cpu ms (all)  cpu us/service    rows  runs"
    );
    for objects in common::sizes(&[100, 1_000, 10_000, 100_000]) {
        let loaded = common::load_one_namespace(objects);
        let count = loaded.objects.len();
        let services = count / common::OBJECTS_PER_COPY;
        let topology = Topology::new(loaded.objects);
        let runs = if objects >= 10_000 { 3 } else { 5 };
        let ([build, baseline, all, cpu], rows) = measure(&topology, profile, runs);
        println!(
            "  {count:>7}  {services:>8}  {build:>14.1}  {baseline:>11.1}  {all:>13.1}  {cpu:>12.1}  {:>14.1}  {rows:>6}  {runs:>4}",
            cpu * 1000.0 / services as f64
        );
    }
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
    let ([build, baseline, all, cpu], rows) = measure(&topology, &profile, 5);
    println!(
        "whatif: {SERVICES} services x 3 zones ({} objects), {} loss scenarios, median of 5",
        topology.objects().len(),
        scenarios(&profile).len()
    );
    println!("  world build:                {build:8.1} ms");
    println!("  baseline (intact state):    {baseline:8.1} ms");
    println!("  baseline + all 6 scenarios: {all:8.1} ms");
    println!("  cpu, build + all (2 threads): {cpu:6.1} ms");
    println!(
        "  threads: {}",
        std::thread::available_parallelism().map_or(1, |n| n.get())
    );
    println!("  rows (scenario x service x client zone): {rows}");
    let [baseline_one, scenario_one, scenarios_one] = one_thread(&topology, &profile, 5);
    println!(
        "  one thread, fastest of 5: baseline {baseline_one:.1} ms, one scenario {scenario_one:.1} ms, all 6 scenarios {scenarios_one:.1} ms"
    );
    one_namespace(&profile);
}
