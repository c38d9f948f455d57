//! How a kind node vanishes and comes back: the node is a Docker container,
//! so a Spot reclaim is that container dying (`refuse`: `docker kill`, its
//! pods' listeners are gone) or dropping off the network (`blackhole`:
//! `docker network disconnect`, packets to its pods go nowhere and connects
//! time out). Restore reverses it, reconnecting at the node's old address
//! so the cluster keeps routing to it. The cloud controller's part (deleting
//! the Node object once it is NotReady) lives with the backend, which talks
//! to the API.

use std::net::IpAddr;

use crate::backend::kube::cluster::exec::run_command;
use crate::backend::kube::cluster::{ClusterError, CommandRunner, PlannedCommand, Tool};

/// The Docker network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";

/// How a zone's nodes are lost: the suite's `spot-loss` `mode`, typed once
/// in the spec.
pub use crate::spec::SpotLossMode as LossMode;

/// One node's container as it was before the loss (what restore needs).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LostNode {
    /// Container (and Node) name.
    pub name: String,
    /// Its address on the kind network before the loss.
    pub ip: Option<IpAddr>,
    /// How it was lost.
    pub mode: LossMode,
}

/// `docker inspect` that prints a node container's address on the kind network.
pub fn inspect_ip_command(node: &str) -> PlannedCommand {
    let format = format!("{{{{(index .NetworkSettings.Networks \"{KIND_NETWORK}\").IPAddress}}}}");
    docker(
        &["inspect", "--format", &format, node],
        format!("read the address of node {node}"),
    )
}

/// The commands that make `node` vanish.
pub fn loss_commands(node: &str, mode: LossMode) -> Vec<PlannedCommand> {
    match mode {
        LossMode::Refuse => vec![docker(
            &["kill", "--signal", "KILL", node],
            format!("kill node {node} (Spot loss, refuse)"),
        )],
        LossMode::Blackhole => vec![docker(
            &["network", "disconnect", "--force", KIND_NETWORK, node],
            format!("take node {node} off the network (Spot loss, blackhole)"),
        )],
    }
}

/// The commands that bring a lost node back (its kubelet registers the Node
/// again with the labels kind gave it).
pub fn restore_commands(node: &LostNode) -> Vec<PlannedCommand> {
    let name = node.name.as_str();
    match node.mode {
        // A killed container lost its network attachment's runtime state
        // but not its configuration: starting it is enough.
        LossMode::Refuse => vec![docker(&["start", name], format!("start node {name}"))],
        LossMode::Blackhole => {
            let ip = node.ip.map(|ip| ip.to_string());
            let mut args = vec!["network", "connect"];
            if let Some(ip) = &ip {
                args.extend(["--ip", ip.as_str()]);
            }
            args.extend([KIND_NETWORK, name]);
            vec![docker(
                &args,
                format!("put node {name} back on the network"),
            )]
        }
    }
}

/// Restarts a node's kubelet so that it registers its Node object again.
/// A kubelet registers once per process (kubernetes pkg/kubelet/
/// kubelet_node_status.go registerWithAPIServer runs until it succeeds,
/// then never again), so a Node deleted while its kubelet ran stays gone
/// until the kubelet restarts; kind runs it as a systemd unit in the node
/// container.
pub fn reregister_command(node: &str) -> PlannedCommand {
    docker(
        &["exec", node, "systemctl", "restart", "kubelet"],
        format!("restart the kubelet of node {node} so its Node registers again"),
    )
}

fn docker(args: &[&str], purpose: String) -> PlannedCommand {
    PlannedCommand::new(Tool::Docker, args, purpose)
        .hint("is the Docker engine running, and is the kind cluster still there? (zonechaos cluster status)")
}

/// Loses `nodes` in `mode`: records each address first, then runs the loss
/// commands. Returns what restore needs, for every node that was lost.
pub fn lose(
    runner: &dyn CommandRunner,
    nodes: &[String],
    mode: LossMode,
) -> Result<Vec<LostNode>, ClusterError> {
    let mut lost = Vec::new();
    for name in nodes {
        let ip = run_command(&inspect_ip_command(name), runner)?
            .parse::<IpAddr>()
            .ok();
        for c in loss_commands(name, mode) {
            run_command(&c, runner)?;
        }
        lost.push(LostNode {
            name: name.clone(),
            ip,
            mode,
        });
    }
    Ok(lost)
}

/// Brings lost nodes back.
pub fn restore(runner: &dyn CommandRunner, nodes: &[LostNode]) -> Result<(), ClusterError> {
    for n in nodes {
        for c in restore_commands(n) {
            run_command(&c, runner)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::backend::kube::cluster::{Output, RecordingRunner, SystemRunner};

    fn lines(commands: &[PlannedCommand]) -> Vec<String> {
        commands.iter().map(PlannedCommand::command_line).collect()
    }

    #[test]
    fn modes_parse_with_refuse_by_default() {
        assert_eq!(LossMode::default(), LossMode::Refuse);
        assert_eq!(LossMode::Blackhole.as_str(), "blackhole");
    }

    #[test]
    fn reregistering_restarts_the_kubelet_inside_the_node() {
        assert_eq!(
            reregister_command("zc-worker3").command_line(),
            "docker exec zc-worker3 systemctl restart kubelet"
        );
    }

    #[test]
    fn refuse_kills_and_restore_starts() {
        assert_eq!(
            lines(&loss_commands("zc-worker3", LossMode::Refuse)),
            ["docker kill --signal KILL zc-worker3"]
        );
        let n = LostNode {
            name: "zc-worker3".into(),
            ip: None,
            mode: LossMode::Refuse,
        };
        assert_eq!(lines(&restore_commands(&n)), ["docker start zc-worker3"]);
    }

    #[test]
    fn blackhole_disconnects_and_reconnects_at_the_old_address() {
        assert_eq!(
            lines(&loss_commands("zc-worker3", LossMode::Blackhole)),
            ["docker network disconnect --force kind zc-worker3"]
        );
        let n = LostNode {
            name: "zc-worker3".into(),
            ip: Some("172.18.0.5".parse().unwrap()),
            mode: LossMode::Blackhole,
        };
        assert_eq!(
            lines(&restore_commands(&n)),
            ["docker network connect --ip 172.18.0.5 kind zc-worker3"]
        );
    }

    #[test]
    fn inspect_reads_the_kind_network_address() {
        let c = inspect_ip_command("n1");
        assert_eq!(c.program, Tool::Docker);
        assert_eq!(c.args[..2], ["inspect", "--format"]);
        assert_eq!(
            c.args[2],
            "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}"
        );
    }

    #[test]
    fn lose_records_each_address_then_restores_there() {
        let runner = RecordingRunner::new().answer("docker inspect", Output::ok("172.18.0.7\n"));
        let lost = lose(&runner, &["w5".into()], LossMode::Blackhole).unwrap();
        assert_eq!(lost[0].ip, Some("172.18.0.7".parse().unwrap()));
        restore(&runner, &lost).unwrap();
        let calls = runner.calls();
        assert_eq!(calls.len(), 3, "{calls:?}");
        assert!(calls[0].starts_with("docker inspect --format"), "{calls:?}");
        assert_eq!(calls[1], "docker network disconnect --force kind w5");
        assert_eq!(calls[2], "docker network connect --ip 172.18.0.7 kind w5");
    }

    #[test]
    fn a_failing_command_names_itself_and_its_stderr() {
        use std::os::unix::fs::PermissionsExt;
        let dir = tempfile::tempdir().unwrap();
        let fake = dir.path().join("docker");
        std::fs::write(
            &fake,
            "#!/bin/sh\nif [ \"$1\" = start ]; then echo ok; exit 0; fi\necho boom >&2; exit 3\n",
        )
        .unwrap();
        std::fs::set_permissions(&fake, std::fs::Permissions::from_mode(0o755)).unwrap();
        let runner = SystemRunner::with_path(dir.path().as_os_str().to_owned());
        let e = run_command(&loss_commands("w5", LossMode::Refuse)[0], &runner).unwrap_err();
        let text = format!("{e} {}", e.hint());
        assert!(
            text.contains("docker kill") && text.contains("boom"),
            "{text}"
        );
        let missing =
            SystemRunner::with_path(tempfile::tempdir().unwrap().path().as_os_str().to_owned());
        let e = run_command(&loss_commands("w5", LossMode::Refuse)[0], &missing).unwrap_err();
        assert!(matches!(e, ClusterError::MissingTools { .. }), "{e}");
        let n = LostNode {
            name: "w5".into(),
            ip: None,
            mode: LossMode::Refuse,
        };
        assert_eq!(
            run_command(&restore_commands(&n)[0], &runner).unwrap(),
            "ok"
        );
    }
}
