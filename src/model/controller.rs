//! The Argo Rollouts reconcile loop on the world, and the user actions
//! (new image, promote, abort, retry) that the chaos steps call.

use std::sync::Arc;

use crate::model::clock::SimTime;
use crate::model::rollout::{
    RolloutPhase, RolloutState, abort_scale_down_due, is_pause, pause_done,
    update_destination_rule_hashes, validate_routing, write_weights,
};
use crate::model::world::{EventKind, ReplicaSet, World, template_hash};

/// A user action on a Rollout that cannot apply.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum RolloutActionError {
    /// No such Rollout.
    #[error("no Rollout named {0}")]
    NotFound(String),
    /// Promote without a paused canary.
    #[error("Rollout {0} is not paused")]
    NotPaused(String),
}

impl World {
    /// Index of a Rollout's state by name.
    pub fn rollout_index(&self, name: &str) -> Option<usize> {
        self.rollouts
            .iter()
            .position(|r| r.name.name == name || r.name.to_string() == name)
    }

    /// Ready pods of a workload's ReplicaSet.
    pub fn available(&self, workload: usize, hash: &str) -> i32 {
        self.workload_pods(workload)
            .filter(|(_, p)| p.template_hash == hash && self.pod_ready(p))
            .count() as i32
    }

    /// `kubectl argo rollouts set image`: a new template starts a canary.
    pub fn set_image(&mut self, rollout: &str, image: &str) -> Result<(), RolloutActionError> {
        let i = self
            .rollout_index(rollout)
            .ok_or_else(|| RolloutActionError::NotFound(rollout.to_owned()))?;
        let w = self.rollouts[i].workload;
        let stable_image = self.workloads[w].replica_sets[0].image.clone();
        let r = Arc::make_mut(&mut self.rollouts[i]);
        r.current_hash = if image == stable_image {
            r.stable_hash.clone()
        } else {
            template_hash(&format!("{}:{image}", r.stable_hash))
        };
        r.current_image = image.to_owned();
        r.step_index = 0;
        r.pause_started = None;
        r.paused_indefinitely = false;
        r.aborted_at = None;
        r.generation += 1;
        let message = format!(
            "Rollout {} updated to image {image} (revision hash {})",
            r.name, r.current_hash
        );
        self.log_controller(message);
        self.reconcile_rollouts();
        Ok(())
    }

    /// `kubectl argo rollouts promote`: clears the pause (merge patch
    /// `{"status":{"pauseConditions":null}}`).
    pub fn promote(&mut self, rollout: &str) -> Result<(), RolloutActionError> {
        let i = self
            .rollout_index(rollout)
            .ok_or_else(|| RolloutActionError::NotFound(rollout.to_owned()))?;
        let r = Arc::make_mut(&mut self.rollouts[i]);
        if !r.paused_indefinitely && r.pause_started.is_none() {
            return Err(RolloutActionError::NotPaused(rollout.to_owned()));
        }
        r.paused_indefinitely = false;
        r.pause_started = None;
        r.step_index += 1;
        let message = format!("Rollout {} promoted past step {}", r.name, r.step_index - 1);
        self.log_controller(message);
        self.reconcile_rollouts();
        Ok(())
    }

    /// `kubectl argo rollouts abort` (`{"status":{"abort":true}}`).
    pub fn abort(&mut self, rollout: &str) -> Result<(), RolloutActionError> {
        let i = self
            .rollout_index(rollout)
            .ok_or_else(|| RolloutActionError::NotFound(rollout.to_owned()))?;
        let now = self.now;
        let r = Arc::make_mut(&mut self.rollouts[i]);
        r.aborted_at = Some(now);
        r.paused_indefinitely = false;
        r.pause_started = None;
        let message = format!("Rollout {} aborted", r.name);
        self.log_controller(message);
        self.reconcile_rollouts();
        Ok(())
    }

    /// `kubectl argo rollouts retry` (`{"status":{"abort":false}}`).
    pub fn retry(&mut self, rollout: &str) -> Result<(), RolloutActionError> {
        let i = self
            .rollout_index(rollout)
            .ok_or_else(|| RolloutActionError::NotFound(rollout.to_owned()))?;
        let r = Arc::make_mut(&mut self.rollouts[i]);
        r.aborted_at = None;
        r.step_index = 0;
        self.reconcile_rollouts();
        Ok(())
    }

    /// Keeps Rollout `i`'s routing when its canary moved since the last
    /// record of it (the first reconcile records the starting state).
    fn record_routing(&mut self, i: usize) {
        use crate::model::reconciled::reconciled_routing;
        let r = &self.rollouts[i];
        let last = self
            .reconciled
            .iter()
            .rev()
            .find(|c| c.rollout == r.name.name);
        if last.is_none_or(|c| !c.position.is_of(r)) {
            let record = reconciled_routing(r, &self.mesh, self.now);
            self.reconciled.push(record);
        }
    }

    fn log_controller(&mut self, message: String) {
        self.events.push(crate::model::world::Event {
            at: self.now,
            message,
            kind: EventKind::Controller,
        });
    }

    /// One reconcile of every Rollout, in topology order.
    pub fn reconcile_rollouts(&mut self) {
        for i in 0..self.rollouts.len() {
            self.reconcile_rollout(i);
        }
    }

    fn reconcile_rollout(&mut self, i: usize) {
        let now = self.now;
        let mut r = RolloutState::clone(&self.rollouts[i]);
        let w = r.workload;
        let replicas = r.replicas();
        let stable_image = self.workloads[w].replica_sets[0].image.clone();
        let mut canary_desired = 0;

        if let Err(message) = validate_routing(&r, &self.mesh) {
            set_status(
                &mut r,
                RolloutPhase::Degraded,
                format!("InvalidSpec: {message}"),
            );
            if self.rollouts[i].status.message != r.status.message {
                self.log_controller(format!("Rollout {} Degraded: {}", r.name, r.status.message));
            }
        } else {
            let canary_hash = if r.canary_active() {
                r.current_hash.clone()
            } else {
                r.stable_hash.clone()
            };
            update_destination_rule_hashes(&r, &mut self.mesh, &canary_hash);
            self.patch_service_selectors(&r, &canary_hash);
            if r.aborted_at.is_some() {
                r.weight = 0;
                write_weights(&r, &mut self.mesh, 0);
                canary_desired = if abort_scale_down_due(&r, now) {
                    0
                } else {
                    r.canary_replicas_for(r.step_weight())
                };
                let message = format!(
                    "RolloutAborted: Rollout aborted update to revision {}",
                    r.current_hash
                );
                set_status(&mut r, RolloutPhase::Degraded, message);
                r.status.abort = true;
            } else if r.canary_active() {
                canary_desired = self.run_steps(&mut r);
            } else {
                r.weight = 0;
                write_weights(&r, &mut self.mesh, 0);
                let available = self.available(w, &r.stable_hash);
                if available >= replicas {
                    r.unavailable_since = None;
                    set_status(&mut r, RolloutPhase::Healthy, String::new());
                } else {
                    let since = *r.unavailable_since.get_or_insert(now);
                    if now.since(since) > r.progress_deadline() {
                        let message = format!(
                            "ProgressDeadlineExceeded: ReplicaSet \"{}-{}\" has timed out progressing.",
                            r.name.name, r.stable_hash
                        );
                        set_status(&mut r, RolloutPhase::Degraded, message);
                    } else {
                        set_status(
                            &mut r,
                            RolloutPhase::Progressing,
                            format!(
                                "ReplicaSetNotAvailable: {available}/{replicas} pods available"
                            ),
                        );
                    }
                }
                r.status.abort = false;
            }
        }
        // The ReplicaSets the controller wants. Without a traffic router the
        // canary takes its pods from the stable ReplicaSet (basic canary).
        let routed = r
            .spec
            .strategy
            .canary
            .as_ref()
            .and_then(|c| c.traffic_routing.as_ref())
            .is_some();
        let stable_desired = if routed || !r.canary_active() {
            replicas
        } else {
            (replicas - canary_desired).max(0)
        };
        let mut sets = vec![ReplicaSet {
            hash: r.stable_hash.clone(),
            image: stable_image,
            desired: stable_desired,
        }];
        if r.canary_active() {
            sets.push(ReplicaSet {
                hash: r.current_hash.clone(),
                image: r.current_image.clone(),
                desired: canary_desired,
            });
        }
        if self.workloads[w].replica_sets != sets {
            Arc::make_mut(&mut self.workloads[w]).replica_sets = sets;
        }
        r.status.canary_weight = r.weight;
        r.status.stable_weight = 100 - r.weight;
        r.status.stable_rs = r.stable_hash.clone();
        r.status.current_pod_hash = r.current_hash.clone();
        r.status.current_step_index = r
            .spec
            .strategy
            .canary
            .as_ref()
            .map(|c| r.step_index.min(c.steps.len()));
        r.status.observed_generation = r.generation.to_string();
        let changed_phase = self.rollouts[i].status.phase != r.status.phase;
        // An unchanged state stays shared with other copies of the world.
        if !self.rollouts[i].same_as(&r) {
            self.rollouts[i] = Arc::new(r);
        }
        self.record_routing(i);
        if changed_phase {
            let r = &self.rollouts[i];
            let message = format!(
                "Rollout {} is {:?} {}",
                r.name, r.status.phase, r.status.message
            );
            self.log_controller(message.trim_end().to_owned());
        }
    }

    /// Runs canary steps as far as they can go now; returns the canary's desired size.
    fn run_steps(&mut self, r: &mut RolloutState) -> i32 {
        let w = r.workload;
        let steps = r
            .spec
            .strategy
            .canary
            .as_ref()
            .map(|c| c.steps.clone())
            .unwrap_or_default();
        while r.step_index < steps.len() {
            let step = &steps[r.step_index];
            if let Some(weight) = step.set_weight {
                let needed = r.canary_replicas_for(weight);
                // Scale first; the weight follows once the canary is available.
                if self.available(w, &r.current_hash) < needed {
                    set_status(
                        r,
                        RolloutPhase::Progressing,
                        format!("waiting for {needed} canary pods before setting weight {weight}"),
                    );
                    return needed;
                }
                r.weight = weight;
                write_weights(r, &mut self.mesh, weight);
                r.step_index += 1;
            } else if is_pause(step) {
                if !pause_done(r, step, self.now) {
                    set_status(r, RolloutPhase::Paused, "CanaryPauseStep".into());
                    return r.canary_replicas_for(r.step_weight());
                }
                r.step_index += 1;
            } else {
                // analysis, setHeaderRoute, experiment: not modelled, pass.
                r.step_index += 1;
            }
        }
        // All steps done: full promotion once the canary is fully available.
        let replicas = r.replicas();
        if self.available(w, &r.current_hash) >= replicas {
            r.stable_hash = r.current_hash.clone();
            r.weight = 0;
            write_weights(r, &mut self.mesh, 0);
            let image = r.current_image.clone();
            if let Some(rs) = Arc::make_mut(&mut self.workloads[w])
                .replica_sets
                .first_mut()
            {
                rs.image = image;
            }
            set_status(r, RolloutPhase::Healthy, String::new());
            return 0;
        }
        set_status(
            r,
            RolloutPhase::Progressing,
            "promoting: scaling the new ReplicaSet up".into(),
        );
        replicas
    }

    /// Argo adds the template hash to the stable and canary Services' selectors.
    fn patch_service_selectors(&mut self, r: &RolloutState, canary_hash: &str) {
        let Some(c) = r.spec.strategy.canary.as_ref() else {
            return;
        };
        for (svc, hash) in [
            (&c.stable_service, &r.stable_hash),
            (&c.canary_service, &canary_hash.to_owned()),
        ] {
            let Some(svc) = svc else { continue };
            let ns = &r.name.namespace;
            let Some(current) = self.mesh.service(ns, svc) else {
                continue;
            };
            // Unchanged selectors leave a shared mesh shared.
            if current.selector.get("rollouts-pod-template-hash") == Some(hash) {
                continue;
            }
            if let Some(s) = Arc::make_mut(&mut self.mesh).service_mut(ns, svc) {
                s.selector
                    .insert("rollouts-pod-template-hash".into(), hash.clone());
            }
        }
    }

    /// True when a pod belongs to a Rollout's canary (not its stable ReplicaSet).
    pub fn is_canary_pod(&self, pod: crate::model::pod::PodId) -> bool {
        let p = &self.pods[pod.0];
        self.rollouts.iter().any(|r| {
            r.workload == p.workload && r.canary_active() && p.template_hash == r.current_hash
        })
    }

    /// Rollout status by name.
    pub fn rollout_status(&self, name: &str) -> Option<&crate::model::rollout::RolloutStatus> {
        self.rollout_index(name).map(|i| &self.rollouts[i].status)
    }

    /// The virtual clock's current time.
    pub fn time(&self) -> SimTime {
        self.now
    }
}

fn set_status(r: &mut RolloutState, phase: RolloutPhase, message: String) {
    r.status.phase = phase;
    r.status.message = message;
}

#[cfg(test)]
mod tests {
    use crate::model::clock::{SimDuration, SimTime};
    use crate::model::rollout::RolloutPhase;
    use crate::model::world::{ClusterTiming, World};
    use crate::profile::ClusterProfile;
    use crate::topology::{Topology, load_paths};
    use crate::zone::Zone;
    use std::path::Path;

    fn world(path: &str) -> World {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded = load_paths(&[root.join(path)]).unwrap();
        World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        )
    }

    fn run_until(w: &mut World, secs: u64) {
        let start = w.now.0 / 1000;
        for s in start + 1..=secs {
            w.advance(SimTime(s * 1000));
        }
    }

    fn route_weights(w: &World, route: &str) -> Vec<(String, i64)> {
        let vs = &w.mesh.virtual_services[0].spec;
        let r = vs
            .http
            .iter()
            .find(|r| r.name.as_deref() == Some(route))
            .unwrap();
        crate::mesh::route::destination_weights(r)
            .map(|(d, w)| (d.subset.clone().unwrap_or_default(), i64::from(w)))
            .collect()
    }

    #[test]
    fn canary_steps_scale_then_weight_then_pause_then_promote() {
        let mut w = world("suites/topologies/zone-pinned.yaml");
        assert!(
            w.rollouts
                .iter()
                .all(|r| r.status.phase == RolloutPhase::Healthy),
            "{:?}",
            w.rollouts.iter().map(|r| &r.status).collect::<Vec<_>>()
        );
        w.set_image("test-c", "myapp:v2").unwrap();
        // The canary must be available before the weight moves.
        assert_eq!(
            route_weights(&w, "zone-c-route"),
            vec![("stable-c".into(), 100), ("canary-c".into(), 0)]
        );
        run_until(&mut w, 10);
        assert_eq!(
            route_weights(&w, "zone-c-route"),
            vec![("stable-c".into(), 90), ("canary-c".into(), 10)]
        );
        let r = w.rollout_status("test-c").unwrap();
        assert_eq!(r.phase, RolloutPhase::Paused);
        assert_eq!(r.current_step_index, Some(1));
        assert_eq!(r.canary_weight, 10);
        // ceil(10 x 3 / 100) = 1 canary pod; stable stays at 3 (traffic-routed).
        let wi = w.rollouts[w.rollout_index("test-c").unwrap()].workload;
        assert_eq!(w.workload_pods(wi).count(), 4);
        // Other zones' routes untouched.
        assert_eq!(
            route_weights(&w, "zone-a-route"),
            vec![("stable-a".into(), 100), ("canary-a".into(), 0)]
        );
        // Four 5-minute pauses on the virtual clock, then full promotion.
        run_until(&mut w, 20 * 60 + 60);
        let r = w.rollout_status("test-c").unwrap();
        assert_eq!(r.phase, RolloutPhase::Healthy, "{r:?}");
        assert_eq!(r.canary_weight, 0);
        assert_eq!(w.workload_pods(wi).count(), 3);
        assert!(
            w.workload_pods(wi)
                .all(|(_, p)| p.template_hash == r.stable_rs)
        );
    }

    #[test]
    fn abort_resets_weight_and_scales_canary_down_after_30s() {
        let mut w = world("suites/topologies/zone-pinned.yaml");
        w.set_image("test-a", "myapp:bad").unwrap();
        run_until(&mut w, 10);
        w.abort("test-a").unwrap();
        assert_eq!(route_weights(&w, "zone-a-route")[1].1, 0);
        let r = w.rollout_status("test-a").unwrap();
        assert_eq!(r.phase, RolloutPhase::Degraded);
        assert!(r.message.starts_with("RolloutAborted"));
        assert!(r.abort);
        let wi = w.rollouts[w.rollout_index("test-a").unwrap()].workload;
        run_until(&mut w, 30);
        assert_eq!(
            w.workload_pods(wi).count(),
            4,
            "canary kept during abortScaleDownDelaySeconds"
        );
        run_until(&mut w, 45);
        assert_eq!(w.workload_pods(wi).count(), 3);
    }

    #[test]
    fn indefinite_pause_waits_for_promote() {
        let mut w = world("suites/topologies/zone-pinned.yaml");
        let i = w.rollout_index("test-b").unwrap();
        let steps =
            &mut std::sync::Arc::make_mut(&mut std::sync::Arc::make_mut(&mut w.rollouts[i]).spec)
                .strategy
                .canary
                .as_mut()
                .unwrap()
                .steps;
        steps[1].pause.as_mut().unwrap().duration = None;
        w.set_image("test-b", "myapp:v2").unwrap();
        run_until(&mut w, 3600);
        assert_eq!(
            w.rollout_status("test-b").unwrap().phase,
            RolloutPhase::Paused
        );
        assert_eq!(
            w.rollout_status("test-b").unwrap().current_step_index,
            Some(1)
        );
        w.promote("test-b").unwrap();
        // Step 2 (setWeight 20) needs ceil(20 x 3 / 100) = 1 canary pod, already
        // there, so the weight applies at once and the next pause starts.
        let s = w.rollout_status("test-b").unwrap();
        assert_eq!((s.current_step_index, s.canary_weight), (Some(3), 20));
        assert!(w.promote("test-c").is_err());
    }

    #[test]
    fn zone_loss_progressing_then_degraded_then_healthy() {
        let mut w = world("suites/topologies/zone-pinned.yaml");
        w.spot_loss(&Zone::from("us-east-1c"), None);
        run_until(&mut w, 60);
        assert_eq!(
            w.rollout_status("test-c").unwrap().phase,
            RolloutPhase::Progressing
        );
        run_until(&mut w, 50 + 601 + 1);
        let r = w.rollout_status("test-c").unwrap();
        assert_eq!(r.phase, RolloutPhase::Degraded);
        assert!(
            r.message.starts_with("ProgressDeadlineExceeded"),
            "{}",
            r.message
        );
        assert_eq!(
            w.rollout_status("test-a").unwrap().phase,
            RolloutPhase::Healthy
        );
        w.restore(&Zone::from("us-east-1c"));
        run_until(&mut w, 720);
        assert_eq!(
            w.rollout_status("test-c").unwrap().phase,
            RolloutPhase::Healthy
        );
        let _ = SimDuration::secs(1);
    }

    #[test]
    fn a_shared_destination_rule_loses_every_subset() {
        // The seed's DR is rejected by Istio (distribute + failover), so build
        // a valid shared-DR variant from the zone-pinned reference.
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let text =
            std::fs::read_to_string(root.join("suites/topologies/zone-pinned.yaml")).unwrap();
        let mut loaded = crate::topology::Loaded::default();
        let shared = text
            .replace(
                "name: test-b\n            canarySubsetName",
                "name: test-a\n            canarySubsetName",
            )
            .replace(
                "name: test-c\n            canarySubsetName",
                "name: test-a\n            canarySubsetName",
            );
        assert_ne!(shared, text);
        crate::topology::load_text(
            std::sync::Arc::from(Path::new("shared.yaml")),
            &shared,
            &mut loaded,
        );
        let w = World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        );
        // Each Rollout's UpdateHash keeps its own two subsets and drops every
        // other; a subset the rule lacks is neither created nor an error
        // (argo-rollouts istio.go UpdateHash). test-a keeps stable-a and
        // canary-a, test-b then drops them and finds none of its own: the
        // shared rule ends with no subset, every Rollout stays Healthy, and
        // every subset route answers 503 NC.
        let dr_a = w
            .mesh
            .destination_rules
            .iter()
            .find(|d| d.name.name == "test-a")
            .unwrap();
        assert!(dr_a.spec.subsets.is_empty(), "{:?}", dr_a.spec.subsets);
        for r in ["test-a", "test-b", "test-c"] {
            let status = w.rollout_status(r).unwrap();
            assert_eq!(
                status.phase,
                RolloutPhase::Healthy,
                "{r}: {}",
                status.message
            );
        }
    }

    #[test]
    fn shared_route_makes_the_second_rollout_invalid() {
        let root = Path::new(env!("CARGO_MANIFEST_DIR"));
        let loaded =
            load_paths(&[root.join("suites/fixtures/source-design/zone-aware-shared-route.yaml")])
                .unwrap();
        let w = World::new(
            &Topology::new(loaded.objects),
            &ClusterProfile::builtin(),
            ClusterTiming::default(),
        );
        // The seed's shared DR is rejected by the webhook, so every Rollout
        // fails on the route or the missing DestinationRule. A route lacking
        // both subsets reports the canary's, in Argo's own words
        // (rollout/trafficrouting/istio/istio.go validateDestinationRule).
        let b = w.rollout_status("test-b").unwrap();
        assert_eq!(b.phase, RolloutPhase::Degraded);
        assert!(
            b.message
                .contains("Canary DestinationRule subset 'canary-b' not found in route"),
            "{}",
            b.message
        );
        let a = w.rollout_status("test-a").unwrap();
        assert!(
            a.message
                .contains("destinationrules.networking.istio.io \"test\" not found"),
            "{}",
            a.message
        );
    }

    #[test]
    fn basic_canary_takes_pods_from_stable() {
        let mut w = world("suites/topologies/zone-failover.yaml");
        w.set_image("test-a", "myapp:v2").unwrap();
        run_until(&mut w, 10);
        let i = w.rollout_index("test-a").unwrap();
        let wi = w.rollouts[i].workload;
        let canary = w.rollouts[i].current_hash.clone();
        let pods: Vec<_> = w
            .workload_pods(wi)
            .map(|(_, p)| p.template_hash.clone())
            .collect();
        assert_eq!(pods.len(), 3, "{pods:?}");
        assert_eq!(pods.iter().filter(|h| **h == canary).count(), 1);
    }
}
