//! Reads a suite file and checks it before anything runs: unknown zones,
//! Rollouts, PDBs, step kinds and bad durations are reported at file:line.

use std::path::{Path, PathBuf};
use std::sync::Arc;

use crate::model::clock::SimDuration;
use crate::model::world::ClusterTiming;
use crate::profile::ClusterProfile;
use crate::spec::step::{ACTION_KEYS, COMMON_KEYS};
use crate::spec::{Action, Expectation, StepCommon, SuiteFile};
use crate::topology::yaml::{self, Node, PathSeg, Pos, Value};
use crate::topology::{Kind, SourceLoc, Topology, load_paths};
use crate::zone::Zone;

/// A suite that cannot run, with the position of the problem.
#[derive(Debug, Clone, thiserror::Error)]
#[error("{loc}: {message}\n  hint: {hint}")]
pub struct SuiteError {
    /// Where.
    pub loc: SourceLoc,
    /// What.
    pub message: String,
    /// How to fix it.
    pub hint: String,
}

/// One step, validated.
#[derive(Debug, Clone, PartialEq)]
pub struct Step {
    /// Line in the suite file.
    pub line: u32,
    /// Name, timeout, expectation.
    pub common: StepCommon,
    /// The action, zone names normalised to full zone names.
    pub action: Action,
}

impl Step {
    /// True when the step documents a known defect.
    pub fn expects_failure(&self) -> bool {
        self.common.expect == Some(Expectation::Fail)
    }

    /// The step's timeout, if set.
    pub fn timeout(&self) -> Option<SimDuration> {
        self.common.timeout
    }
}

/// The load, resolved.
#[derive(Debug, Clone, PartialEq)]
pub struct Load {
    /// Target Service namespace.
    pub namespace: String,
    /// Target Service name.
    pub service: String,
    /// Requests per second per client zone.
    pub rps: f64,
    /// Client zones.
    pub zones: Vec<Zone>,
    /// Extra labels on every load client's pod (`load.proxyLabels`).
    pub proxy_labels: crate::topology::labels::Labels,
}

impl Load {
    /// The model's load client of `zone` in `world` at `rps`, with the
    /// suite's proxy labels: every backend builds its clients here.
    pub fn client(
        &self,
        world: &crate::model::World,
        zone: &Zone,
        rps: f64,
    ) -> crate::mesh::proxy::Client {
        crate::mesh::proxy::Client::labelled(world, zone, &self.namespace, rps, &self.proxy_labels)
    }
}

/// Labels a suite may not set on its load clients, and why: the harness
/// names its clients itself, and istiod overwrites the node's topology
/// labels on every proxy (topology::istio_labels), so the suite would
/// silently lose them.
fn reserved_proxy_label(key: &str) -> Option<&'static str> {
    use crate::topology::istio_labels as il;
    if key == "app" || key.starts_with("zonechaos.dev/") {
        return Some("the harness names its load clients with this label");
    }
    [il::REGION_LABEL, il::ZONE_LABEL, il::HOSTNAME_LABEL, il::CLUSTER_LABEL]
        .contains(&key)
        .then_some("istiod sets it from the client's node; set the zone with load.zones, the region and subzones in the profile")
}

/// A suite ready to run.
#[derive(Debug, Clone)]
pub struct Suite {
    /// Name.
    pub name: String,
    /// The file.
    pub file: PathBuf,
    /// Description.
    pub description: Option<String>,
    /// Topology paths (resolved).
    pub topology_paths: Vec<PathBuf>,
    /// The topology.
    pub topology: Topology,
    /// The profile.
    pub profile: ClusterProfile,
    /// Seed.
    pub seed: u64,
    /// Load.
    pub load: Load,
    /// Timing.
    pub timing: ClusterTiming,
    /// Line of the suite's `timing:` (1 when the suite has none).
    pub timing_line: u32,
    /// Steps.
    pub steps: Vec<Step>,
    /// Finally steps.
    pub finally: Vec<Step>,
}

impl Suite {
    /// Why this suite cannot run on a cluster whose controller manager
    /// marks silent nodes NotReady after `cluster_grace`: its assertions and
    /// the model's predictions assume its own grace period (issue 11 item 8).
    /// `None` when they agree.
    pub fn timing_mismatch(&self, cluster_grace: SimDuration) -> Option<String> {
        let wanted = self.timing.node_monitor_grace;
        (wanted != cluster_grace).then(|| {
            format!(
                "{}:{}: the suite runs with nodeMonitorGrace {wanted}, the cluster's \
                 controller manager with {cluster_grace}",
                self.file.display(),
                self.timing_line
            )
        })
    }

    /// Refuses traffic assertions whose evidence window is shorter than the
    /// backend's telemetry can judge ([`TelemetrySource::shortest_window`]):
    /// one `file:line:` message per such step, for exit 2 before anything
    /// starts.
    pub fn check_windows(
        &self,
        telemetry: crate::telemetry::TelemetrySource,
        backend: &str,
    ) -> Result<(), String> {
        let shortest = telemetry.shortest_window();
        let problems: Vec<String> = self
            .steps
            .iter()
            .chain(&self.finally)
            .filter_map(|step| {
                let window = step.action.evidence_window()?;
                (window < shortest).then(|| {
                    format!(
                        "{}:{}: {} window {window} is shorter than the {backend} backend's \
                         telemetry can judge (three scrape intervals: at least {shortest}); write \
                         window: {shortest} or longer",
                        self.file.display(),
                        step.line,
                        step.action.key(),
                    )
                })
            })
            .collect();
        if problems.is_empty() {
            Ok(())
        } else {
            Err(problems.join("\n"))
        }
    }
}

struct Ctx<'a> {
    file: Arc<Path>,
    root: &'a Node,
}

impl Ctx<'_> {
    fn err(
        &self,
        path: &[PathSeg],
        message: impl Into<String>,
        hint: impl Into<String>,
    ) -> SuiteError {
        SuiteError {
            loc: SourceLoc {
                file: self.file.clone(),
                pos: self.root.locate(path),
            },
            message: message.into(),
            hint: hint.into(),
        }
    }
}

impl Ctx<'_> {
    /// The profile's full name of the zone written at `path`, or an error there.
    fn zone(
        &self,
        profile: &ClusterProfile,
        path: &[PathSeg],
        zone: &Zone,
    ) -> Result<Zone, SuiteError> {
        profile
            .resolve_zone(zone.as_str())
            .map_err(|e| self.err(path, e.to_string(), e.hint()))
    }

    /// An entry of a zone list (`load.zones`, `to`, `zones`): resolved as
    /// [`Ctx::zone`] does, and refused when the list already has it, since a
    /// repeated zone would count its clients or targets twice.
    fn zone_in_list(
        &self,
        seen: &mut Vec<Zone>,
        profile: &ClusterProfile,
        path: &[PathSeg],
        zone: &Zone,
    ) -> Result<Zone, SuiteError> {
        let zone = self.zone(profile, path, zone)?;
        if seen.contains(&zone) {
            return Err(self.err(
                path,
                format!("zone {zone} is listed twice"),
                "list each zone once",
            ));
        }
        seen.push(zone.clone());
        Ok(zone)
    }

    /// A typed field that does not deserialize: at the field's position
    /// (`under` then serde's path), named by its path.
    fn field_error(&self, under: &[PathSeg], e: &yaml::FieldError, hint: &str) -> SuiteError {
        let mut p = under.to_vec();
        p.extend(e.path.iter().cloned());
        let message = if p.is_empty() {
            e.message.clone()
        } else {
            format!("{}: {}", yaml::display_path(&p), e.message)
        };
        self.err(&p, message, hint)
    }
}

/// How many pods the Service's selector picks from the topology's workloads
/// (a Service without a selector picks none).
fn service_pods(topology: &Topology, namespace: &str, service: &str) -> u64 {
    let Some(selector) = topology
        .find(Kind::Service, namespace, service)
        .and_then(|o| match &o.resource {
            crate::topology::Resource::Service(spec) => spec.selector.as_ref(),
            _ => None,
        })
    else {
        return 0;
    };
    topology
        .workloads_selected(
            namespace,
            crate::topology::label_index::Selection::Labels(selector),
        )
        .map(|w| u64::try_from(w.replicas).unwrap_or(0))
        .sum()
}

/// An error at the top of a suite file (no better position known).
fn at_start(file: &Arc<Path>, message: String, hint: &str) -> SuiteError {
    SuiteError {
        loc: SourceLoc {
            file: file.clone(),
            pos: Pos::default(),
        },
        message,
        hint: hint.to_owned(),
    }
}

/// Reads and validates a suite file.
pub fn load_suite(path: &Path) -> Result<Suite, SuiteError> {
    let text = crate::fsread::read_text(path).map_err(|e| {
        at_start(
            &Arc::from(path),
            format!("cannot read suite: {}", e.reason()),
            "pass an existing suite file, e.g. suites/zone-c-spot-loss.yaml",
        )
    })?;
    load_suite_str(&text, path)
}

/// Validates a suite given as text, as if read from `path` (positions name
/// it; topology and profile paths are relative to its directory). For
/// tests and tools that build suites in memory.
pub fn load_suite_str(text: &str, path: &Path) -> Result<Suite, SuiteError> {
    let file: Arc<Path> = Arc::from(path);
    let at0 = |message: String, hint: &str| at_start(&file, message, hint);
    let mut docs = yaml::parse_documents(text).map_err(|e| SuiteError {
        loc: SourceLoc {
            file: file.clone(),
            pos: e.pos,
        },
        message: format!("invalid YAML: {}", e.message),
        hint: "fix the YAML syntax".into(),
    })?;
    if docs.len() != 1 {
        return Err(at0(
            format!("a suite file holds one document, found {}", docs.len()),
            "keep one suite per file",
        ));
    }
    let root = docs.remove(0);
    let ctx = Ctx {
        file: file.clone(),
        root: &root,
    };
    if !matches!(root.value, Value::Map(_)) {
        return Err(ctx.err(
            &[],
            "a suite file is a mapping (name, topology, load, steps)",
            "see suites/README.md for the suite format",
        ));
    }
    let raw: SuiteFile = yaml::deserialize_typed(root.to_json())
        .map_err(|e| ctx.field_error(&[], &e, "see suites/README.md for the suite format"))?;
    let base = path.parent().unwrap_or(Path::new("."));
    let profile = match &raw.profile {
        None => ClusterProfile::builtin(),
        Some(p) => ClusterProfile::load(&base.join(p)).map_err(|e| {
            ctx.err(
                &crate::path!["profile"],
                format!("profile {}: {}", e.loc, e.message),
                e.hint,
            )
        })?,
    };
    let topology_paths: Vec<PathBuf> = raw.topology.iter().map(|t| base.join(t)).collect();
    let loaded = load_paths(&topology_paths).map_err(|e| {
        ctx.err(
            &crate::path!["topology"],
            e.to_string(),
            "topology paths are relative to the suite file",
        )
    })?;
    if let Err(errors) = loaded.require_valid() {
        let first = errors.first();
        let more = errors.issues().len() - 1;
        return Err(SuiteError {
            loc: first.loc.clone(),
            message: if more == 0 {
                first.message.clone()
            } else {
                format!("{} (and {more} more input errors)", first.message)
            },
            hint: errors.hint(),
        });
    }
    let topology = Topology::new(loaded.objects);
    if topology
        .find(Kind::Service, &raw.load.namespace, &raw.load.service)
        .is_none()
    {
        return Err(ctx.err(
            &crate::path!["load", "service"],
            format!(
                "Service {}/{} is not in the topology",
                raw.load.namespace, raw.load.service
            ),
            "name the Service the clients call",
        ));
    }
    if let Err(e) = crate::limits::check_topology(&topology, crate::limits::MAX_PODS) {
        return Err(match e.loc {
            Some(loc) => SuiteError {
                loc,
                message: e.message,
                hint: e.hint,
            },
            None => ctx.err(&crate::path!["topology"], e.message, e.hint),
        });
    }
    if service_pods(&topology, &raw.load.namespace, &raw.load.service) == 0 {
        return Err(ctx.err(
            &crate::path!["load", "service"],
            format!(
                "Service {}/{} has no pods: no Rollout or Deployment of {} with replicas above 0 matches its selector",
                raw.load.namespace, raw.load.service, raw.load.namespace
            ),
            "the clients would never reach a steady state: give a workload replicas and pod labels the Service selects",
        ));
    }
    if let Err(e) = crate::limits::Rps::new(raw.load.rps) {
        return Err(ctx.err(&crate::path!["load", "rps"], e.message, e.hint));
    }
    let zones = if raw.load.zones.is_empty() {
        profile.zone_names().cloned().collect()
    } else {
        let mut seen = Vec::new();
        raw.load
            .zones
            .iter()
            .enumerate()
            .map(|(i, z)| {
                ctx.zone_in_list(&mut seen, &profile, &crate::path!["load", "zones", i], z)
            })
            .collect::<Result<_, _>>()?
    };
    for (key, value) in &raw.load.proxy_labels {
        let at = crate::path!["load", "proxyLabels", key.as_str()];
        if !crate::topology::labels::is_label_key(key) {
            return Err(ctx.err(
                &at,
                format!("'{}' is not a label key", crate::spec::quote(key)),
                "write [prefix/]name: a DNS-subdomain prefix, a name of up to 63 letters, digits, '-', '_' or '.'",
            ));
        }
        if !crate::topology::labels::is_label_value(value) {
            return Err(ctx.err(
                &at,
                format!("'{}' is not a label value", crate::spec::quote(value)),
                "use up to 63 letters, digits, '-', '_' or '.', starting and ending with a letter or digit",
            ));
        }
        if let Some(why) = reserved_proxy_label(key) {
            return Err(ctx.err(&at, format!("load.proxyLabels cannot set {key}"), why));
        }
    }
    let timing = raw.timing.resolve(profile.cluster_timing());
    let checker = StepChecker {
        ctx: &ctx,
        profile: &profile,
        topology: &topology,
    };
    let steps = raw
        .steps
        .iter()
        .enumerate()
        .map(|(i, v)| checker.step("steps", i, v))
        .collect::<Result<Vec<_>, _>>()?;
    let finally = raw
        .finally
        .iter()
        .enumerate()
        .map(|(i, v)| checker.step("finally", i, v))
        .collect::<Result<Vec<_>, _>>()?;
    if steps.is_empty() {
        return Err(ctx.err(
            &crate::path!["steps"],
            "the suite has no steps",
            "add at least a wait and an assertion",
        ));
    }
    Ok(Suite {
        name: raw.name,
        file: path.to_owned(),
        description: raw.description,
        topology_paths,
        topology,
        profile: profile.clone(),
        seed: raw.seed,
        load: Load {
            namespace: raw.load.namespace,
            service: raw.load.service,
            rps: raw.load.rps,
            zones,
            proxy_labels: raw.load.proxy_labels,
        },
        timing,
        timing_line: ctx
            .root
            .at(&crate::path!["timing"])
            .map_or(1, |n| n.pos.line),
        steps,
        finally,
    })
}

struct StepChecker<'a> {
    ctx: &'a Ctx<'a>,
    profile: &'a ClusterProfile,
    topology: &'a Topology,
}

impl StepChecker<'_> {
    fn step(&self, list: &str, i: usize, value: &serde_json::Value) -> Result<Step, SuiteError> {
        let here = crate::path![list, i].to_vec();
        let node = self.ctx.root.at(&here);
        let line = node.map_or(0, |n| n.pos.line);
        let Some(Node {
            value: Value::Map(entries),
            ..
        }) = node
        else {
            return Err(self.ctx.err(
                &here,
                "a step is a mapping with one action key",
                format!("e.g. `- wait: 30s`; actions: {}", ACTION_KEYS.join(", ")),
            ));
        };
        let mut action_keys = Vec::new();
        for (k, _) in entries {
            if ACTION_KEYS.contains(&k.name.as_str()) {
                action_keys.push(k.name.clone());
            } else if !COMMON_KEYS.contains(&k.name.as_str()) {
                let mut p = here.clone();
                p.push(PathSeg::Key(k.name.clone()));
                return Err(self.ctx.err(
                    &p,
                    format!("unknown step key '{}'", k.name),
                    format!(
                        "actions: {}; common keys: {}",
                        ACTION_KEYS.join(", "),
                        COMMON_KEYS.join(", ")
                    ),
                ));
            }
        }
        if action_keys.len() != 1 {
            return Err(self.ctx.err(
                &here,
                format!(
                    "a step needs exactly one action, found {}",
                    action_keys.len()
                ),
                format!("actions: {}", ACTION_KEYS.join(", ")),
            ));
        }
        let key = action_keys.remove(0);
        let obj = value.as_object().cloned().unwrap_or_default();
        let common_json: serde_json::Map<String, serde_json::Value> = obj
            .iter()
            .filter(|(k, _)| COMMON_KEYS.contains(&k.as_str()))
            .map(|(k, v)| (k.clone(), v.clone()))
            .collect();
        let common: StepCommon = yaml::deserialize_typed(serde_json::Value::Object(common_json))
            .map_err(|e| {
                self.ctx
                    .field_error(&here, &e, "expect takes pass or fail; timeout a duration")
            })?;
        let action_json = serde_json::json!({ key.clone(): obj.get(&key).cloned().unwrap_or(serde_json::Value::Null) });
        // The action's fields sit below its key; serde's path starts below it.
        let below_key = [here.as_slice(), &[PathSeg::from(key.as_str())]].concat();
        let mut action: Action = yaml::deserialize_typed(action_json).map_err(|e| {
            self.ctx.field_error(
                &below_key,
                &e,
                "see suites/README.md for this step's fields",
            )
        })?;
        if common.expect == Some(Expectation::Fail)
            && common.reason.as_deref().is_none_or(str::is_empty)
        {
            return Err(self.ctx.err(
                &here,
                "`expect: fail` needs a `reason`",
                "say which known defect makes the assertion fail (e.g. SEMANTICS.md §6 defect 6)",
            ));
        }
        if common.expect.is_some() && !action.is_assertion() {
            return Err(self.ctx.err(
                &here,
                format!("`expect` only applies to assertions, not {key}"),
                "remove expect from this step",
            ));
        }
        self.normalise(&here, &key, &mut action)?;
        Ok(Step {
            line,
            common,
            action,
        })
    }

    /// Resolves every zone the action names to the profile's full zone
    /// name, and checks the Rollouts and PDBs it names exist.
    fn normalise(
        &self,
        here: &[PathSeg],
        key: &str,
        action: &mut Action,
    ) -> Result<(), SuiteError> {
        let at = |field: &str, index: Option<usize>| {
            let mut p = [here, &[PathSeg::from(key), PathSeg::from(field)]].concat();
            p.extend(index.map(PathSeg::Index));
            p
        };
        let mut lists: Vec<(&'static str, Vec<Zone>)> = Vec::new();
        for (field, index, zone) in action.zones_mut() {
            let path = at(field, index);
            *zone = match index {
                None => self.ctx.zone(self.profile, &path, zone)?,
                Some(_) => {
                    let at_list = match lists.iter().position(|(f, _)| *f == field) {
                        Some(i) => i,
                        None => {
                            lists.push((field, Vec::new()));
                            lists.len() - 1
                        }
                    };
                    self.ctx
                        .zone_in_list(&mut lists[at_list].1, self.profile, &path, zone)?
                }
            };
        }
        if let Some(name) = action.rollout() {
            self.rollout(&at("rollout", None), name)?;
        }
        if let Action::AssertPdb(a) = action
            && !self
                .topology
                .pdbs()
                .any(|(o, _)| o.name.name == a.blocked_by)
        {
            let known: Vec<String> = self
                .topology
                .pdbs()
                .map(|(o, _)| o.name.name.clone())
                .collect();
            return Err(self.ctx.err(
                &at("blockedBy", None),
                format!(
                    "no PodDisruptionBudget named '{}' in the topology",
                    crate::spec::quote(&a.blocked_by)
                ),
                format!("PDBs: {}", known.join(", ")),
            ));
        }
        Ok(())
    }

    fn rollout(&self, p: &[PathSeg], name: &str) -> Result<(), SuiteError> {
        if self.topology.rollouts().any(|(o, _)| o.name.name == name) {
            return Ok(());
        }
        let known: Vec<String> = self
            .topology
            .rollouts()
            .map(|(o, _)| o.name.name.clone())
            .collect();
        Err(self.ctx.err(
            p,
            format!(
                "no Rollout named '{}' in the topology",
                crate::spec::quote(name)
            ),
            format!(
                "Rollouts: {}",
                if known.is_empty() {
                    "none".into()
                } else {
                    known.join(", ")
                }
            ),
        ))
    }
}
