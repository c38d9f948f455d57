//! How a kind node vanishes and comes back: the node is a Docker container,
//! so a Spot reclaim is that container dying (`refuse`: `docker kill`, its
//! pods' listeners are gone) or going silent (`blackhole`: drop rules in
//! its network namespace, packets to its pods go nowhere and connects time
//! out). Restore reverses it: `docker start`, or the rules removed, the
//! node's address unchanged either way. The cloud controller's part
//! (deleting the Node object once it is NotReady) lives with the backend,
//! which talks to the API.

use std::net::IpAddr;

use crate::backend::kube::cluster::exec::run_command;
use crate::backend::kube::cluster::{ClusterError, CommandRunner, PlannedCommand, Tool};

/// The Docker network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";

/// How a zone's nodes are lost: the suite's `spot-loss` `mode`, typed once
/// in the spec.
pub use crate::spec::SpotLossMode as LossMode;

/// One node's container as it was before the loss (restore needs its mode;
/// its address is evidence that the node kept it).
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

/// The iptables chain a blackholed node drops everything through.
pub const BLACKHOLE_CHAIN: &str = "ZONECHAOS-BLACKHOLE";

/// The built-in chains that jump to [`BLACKHOLE_CHAIN`]: traffic to the
/// node, from it (the kubelet's status updates) and through it (its pods'
/// veths are routed by the node's namespace).
const BLACKHOLED_CHAINS: [&str; 3] = ["INPUT", "FORWARD", "OUTPUT"];

/// `docker exec NODE iptables ...` in the node container's network
/// namespace (kind node images carry iptables for kube-proxy).
fn node_iptables(node: &str, rule: &[&str], purpose: String) -> PlannedCommand {
    let mut args = vec!["exec", node, "iptables"];
    args.extend_from_slice(rule);
    docker(&args, purpose)
}

/// The commands that make `node` vanish.
///
/// `blackhole` drops every packet inside the node's network namespace
/// (loopback aside) instead of detaching it from the network: Docker
/// refuses `network connect --ip` with an IPv4 address on kind's network,
/// which has no user-configured IPv4 subnet (moby: "user specified IP
/// address is supported only when connecting to networks with user
/// configured subnets"; SEMANTICS.md §7), and a reconnect without it can
/// give the node another address than the one its kubelet registered. With the drop
/// rules the address stays; the node turns NotReady after the
/// node-monitor grace like a real unreachable instance, and connects to
/// its pods time out.
pub fn loss_commands(node: &str, mode: LossMode) -> Vec<PlannedCommand> {
    match mode {
        LossMode::Refuse => vec![docker(
            &["kill", "--signal", "KILL", node],
            format!("kill node {node} (Spot loss, refuse)"),
        )],
        LossMode::Blackhole => {
            let chain = BLACKHOLE_CHAIN;
            let mut commands = vec![
                node_iptables(
                    node,
                    &["-N", chain],
                    format!("create {chain} in node {node}"),
                ),
                node_iptables(
                    node,
                    &["-A", chain, "-i", "lo", "-j", "RETURN"],
                    format!("keep node {node}'s loopback"),
                ),
                node_iptables(
                    node,
                    &["-A", chain, "-o", "lo", "-j", "RETURN"],
                    format!("keep node {node}'s loopback"),
                ),
                node_iptables(
                    node,
                    &["-A", chain, "-j", "DROP"],
                    format!("drop everything else in node {node}"),
                ),
            ];
            commands.extend(BLACKHOLED_CHAINS.iter().map(|builtin| {
                node_iptables(
                    node,
                    &["-I", builtin, "1", "-j", chain],
                    format!("blackhole node {node}'s {builtin} traffic (Spot loss, blackhole)"),
                )
            }));
            commands
        }
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
            let chain = BLACKHOLE_CHAIN;
            let mut commands: Vec<PlannedCommand> = BLACKHOLED_CHAINS
                .iter()
                .map(|builtin| {
                    node_iptables(
                        name,
                        &["-D", builtin, "-j", chain],
                        format!("let node {name}'s {builtin} traffic through again"),
                    )
                })
                .collect();
            commands.push(node_iptables(
                name,
                &["-F", chain],
                format!("empty {chain} in node {name}"),
            ));
            commands.push(node_iptables(
                name,
                &["-X", chain],
                format!("remove {chain} from node {name}"),
            ));
            commands
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

/// Restarts the kubelets of `nodes` ([`reregister_command`]).
pub fn reregister(runner: &dyn CommandRunner, nodes: &[String]) -> Result<(), ClusterError> {
    for n in nodes {
        run_command(&reregister_command(n), runner)?;
    }
    Ok(())
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

    /// issue 11 item 2: the node keeps its address; the loss is drop rules
    /// in its network namespace, and restore removes exactly them.
    #[test]
    fn blackhole_drops_inside_the_node_and_restore_removes_the_rules() {
        assert_eq!(
            lines(&loss_commands("zc-worker3", LossMode::Blackhole)),
            [
                "docker exec zc-worker3 iptables -N ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -A ZONECHAOS-BLACKHOLE -i lo -j RETURN",
                "docker exec zc-worker3 iptables -A ZONECHAOS-BLACKHOLE -o lo -j RETURN",
                "docker exec zc-worker3 iptables -A ZONECHAOS-BLACKHOLE -j DROP",
                "docker exec zc-worker3 iptables -I INPUT 1 -j ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -I FORWARD 1 -j ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -I OUTPUT 1 -j ZONECHAOS-BLACKHOLE",
            ]
        );
        let n = LostNode {
            name: "zc-worker3".into(),
            ip: Some("172.18.0.5".parse().unwrap()),
            mode: LossMode::Blackhole,
        };
        assert_eq!(
            lines(&restore_commands(&n)),
            [
                "docker exec zc-worker3 iptables -D INPUT -j ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -D FORWARD -j ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -D OUTPUT -j ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -F ZONECHAOS-BLACKHOLE",
                "docker exec zc-worker3 iptables -X ZONECHAOS-BLACKHOLE",
            ]
        );
        // Nothing touches the container's network attachment.
        let all = lines(&loss_commands("w", LossMode::Blackhole)).join("\n")
            + &lines(&restore_commands(&n)).join("\n");
        assert!(!all.contains("network"), "{all}");
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
        assert_eq!(calls.len(), 1 + 7 + 5, "{calls:?}");
        assert!(calls[0].starts_with("docker inspect --format"), "{calls:?}");
        assert_eq!(
            calls[7],
            "docker exec w5 iptables -I OUTPUT 1 -j ZONECHAOS-BLACKHOLE"
        );
        assert_eq!(calls[12], "docker exec w5 iptables -X ZONECHAOS-BLACKHOLE");
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
