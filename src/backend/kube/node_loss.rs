//! How a kind node vanishes and comes back: the node is a Docker container,
//! so a Spot reclaim is that container dying (`refuse`: `docker kill`, its
//! pods' listeners are gone) or dropping off the network (`blackhole`:
//! `docker network disconnect`, packets to its pods go nowhere and connects
//! time out). Restore reverses it, reconnecting at the node's old address
//! so the cluster keeps routing to it. The cloud controller's part (deleting
//! the Node object once it is NotReady) lives with the backend, which talks
//! to the API.

use std::net::IpAddr;

/// The Docker network kind puts its nodes on.
pub const KIND_NETWORK: &str = "kind";

/// How a zone's nodes are lost (the suite's `spot-loss` `mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum LossMode {
    /// The instance dies: connections to its pods fail at once.
    Refuse,
    /// The instance stops answering: packets are dropped, connects time out.
    Blackhole,
}

impl LossMode {
    /// From the suite's `mode` (default `refuse`).
    pub fn parse(mode: Option<&str>) -> Result<LossMode, String> {
        match mode.unwrap_or("refuse") {
            "refuse" => Ok(LossMode::Refuse),
            crate::chaos::BLACKHOLE => Ok(LossMode::Blackhole),
            other => Err(format!(
                "unknown spot-loss mode {other:?}: use refuse or blackhole"
            )),
        }
    }
}

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
pub fn inspect_ip_command(node: &str) -> Vec<String> {
    argv(&[
        "docker",
        "inspect",
        "--format",
        &format!("{{{{(index .NetworkSettings.Networks \"{KIND_NETWORK}\").IPAddress}}}}"),
        node,
    ])
}

/// The commands that make `node` vanish.
pub fn loss_commands(node: &str, mode: LossMode) -> Vec<Vec<String>> {
    match mode {
        LossMode::Refuse => vec![argv(&["docker", "kill", "--signal", "KILL", node])],
        LossMode::Blackhole => vec![argv(&[
            "docker",
            "network",
            "disconnect",
            "--force",
            KIND_NETWORK,
            node,
        ])],
    }
}

/// The commands that bring a lost node back (its kubelet registers the Node
/// again with the labels kind gave it).
pub fn restore_commands(node: &LostNode) -> Vec<Vec<String>> {
    let mut connect = vec!["docker", "network", "connect"];
    let ip = node.ip.map(|ip| ip.to_string());
    if let Some(ip) = &ip {
        connect.extend(["--ip", ip.as_str()]);
    }
    connect.extend([KIND_NETWORK, node.name.as_str()]);
    match node.mode {
        // A killed container lost its network attachment's runtime state
        // but not its configuration: starting it is enough.
        LossMode::Refuse => vec![argv(&["docker", "start", &node.name])],
        LossMode::Blackhole => vec![argv(&connect)],
    }
}

fn argv(parts: &[&str]) -> Vec<String> {
    parts.iter().map(|s| (*s).to_owned()).collect()
}

/// Runs one argument vector through duct, returning its trimmed stdout; the
/// error names the command and carries its stderr.
pub fn run(command: &[String]) -> Result<String, String> {
    let (program, args) = command
        .split_first()
        .ok_or_else(|| "empty command".to_owned())?;
    let out = duct::cmd(program, args)
        .stdout_capture()
        .stderr_capture()
        .unchecked()
        .run()
        .map_err(|e| format!("cannot run {program}: {e} (is it installed and on PATH?)"))?;
    if out.status.success() {
        Ok(String::from_utf8_lossy(&out.stdout).trim().to_owned())
    } else {
        Err(format!(
            "`{}` failed ({}): {}",
            command.join(" "),
            out.status,
            String::from_utf8_lossy(&out.stderr).trim()
        ))
    }
}

/// Loses `nodes` in `mode`: records each address first, then runs the loss
/// commands. Returns what restore needs, for every node that was lost.
pub fn lose(nodes: &[String], mode: LossMode) -> Result<Vec<LostNode>, String> {
    let mut lost = Vec::new();
    for name in nodes {
        let ip = run(&inspect_ip_command(name))?.parse::<IpAddr>().ok();
        for c in loss_commands(name, mode) {
            run(&c)?;
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
pub fn restore(nodes: &[LostNode]) -> Result<(), String> {
    for n in nodes {
        for c in restore_commands(n) {
            run(&c)?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn modes_parse_with_refuse_by_default() {
        assert_eq!(LossMode::parse(None), Ok(LossMode::Refuse));
        assert_eq!(LossMode::parse(Some("blackhole")), Ok(LossMode::Blackhole));
        assert!(LossMode::parse(Some("nuke")).unwrap_err().contains("nuke"));
    }

    #[test]
    fn refuse_kills_and_restore_starts() {
        assert_eq!(
            loss_commands("zc-worker3", LossMode::Refuse),
            vec![argv(&["docker", "kill", "--signal", "KILL", "zc-worker3"])]
        );
        let n = LostNode {
            name: "zc-worker3".into(),
            ip: None,
            mode: LossMode::Refuse,
        };
        assert_eq!(
            restore_commands(&n),
            vec![argv(&["docker", "start", "zc-worker3"])]
        );
    }

    #[test]
    fn blackhole_disconnects_and_reconnects_at_the_old_address() {
        assert_eq!(
            loss_commands("zc-worker3", LossMode::Blackhole),
            vec![argv(&[
                "docker",
                "network",
                "disconnect",
                "--force",
                "kind",
                "zc-worker3"
            ])]
        );
        let n = LostNode {
            name: "zc-worker3".into(),
            ip: Some("172.18.0.5".parse().unwrap()),
            mode: LossMode::Blackhole,
        };
        assert_eq!(
            restore_commands(&n),
            vec![argv(&[
                "docker",
                "network",
                "connect",
                "--ip",
                "172.18.0.5",
                "kind",
                "zc-worker3"
            ])]
        );
    }

    #[test]
    fn inspect_reads_the_kind_network_address() {
        let c = inspect_ip_command("n1");
        assert_eq!(c[..3], argv(&["docker", "inspect", "--format"])[..]);
        assert_eq!(
            c[3],
            "{{(index .NetworkSettings.Networks \"kind\").IPAddress}}"
        );
    }

    #[test]
    fn a_failing_command_names_itself_and_its_stderr() {
        let e = run(&argv(&["sh", "-c", "echo boom >&2; exit 3"])).unwrap_err();
        assert!(e.contains("sh -c") && e.contains("boom"), "{e}");
        let e = run(&argv(&["/nonexistent/docker"])).unwrap_err();
        assert!(e.contains("cannot run /nonexistent/docker"), "{e}");
        assert_eq!(run(&argv(&["echo", "ok"])).unwrap(), "ok");
    }
}
