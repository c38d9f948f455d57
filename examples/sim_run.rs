//! Runs a suite on the sim backend and prints every step's outcome:
//! `cargo run --example sim_run -- suites/zone-c-spot-loss.yaml`.

fn main() {
    let Some(path) = std::env::args().nth(1) else {
        eprintln!("usage: sim_run SUITE.yaml");
        std::process::exit(2);
    };
    let suite = match zonechaos::suite::load_suite(std::path::Path::new(&path)) {
        Ok(s) => s,
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let mut backend = zonechaos::backend::sim::SimBackend::new(&suite);
    let report = zonechaos::suite::runner::run(&suite, &mut backend, &mut ());
    for s in &report.steps {
        println!(
            "{:>3} {:>7.1}s {:?} {}: {}",
            s.index, s.ended_s, s.status, s.title, s.message
        );
    }
    for f in &report.failover {
        println!(
            "failover {}: predicted {:?} s, lost {}",
            f.zone, f.predicted_s, f.lost_requests
        );
    }
    println!("verdict: {:?}", report.verdict);
}
