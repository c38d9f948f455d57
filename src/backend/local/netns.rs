//! Network namespaces for Spot loss in mode `blackhole` on the local
//! backend: one per zone, holding the echo pods of the zone's Spot nodes
//! behind a veth pair. Blackholing takes the namespace end of the link
//! down while the host keeps a permanent neighbour entry for the pods'
//! address, so packets to it are dropped in silence and connects time out
//! (no RST, no ICMP, no failed ARP), as when a reclaimed instance's address
//! stops answering.
//!
//! The namespace has no name: a holder process (`sleep infinity` started
//! in a fresh namespace by `unshare(CLONE_NEWNET)`, dying with the run
//! through PR_SET_PDEATHSIG) keeps it alive, and pods join it with `setns`
//! before they exec. However the run ends, its processes die, the kernel
//! frees the namespace and with it both ends of the veth, so nothing is
//! left behind even when zonechaos is SIGKILLed; on drop the guard also
//! deletes the link itself.
//!
//! Addresses come from 198.18.0.0/15 (RFC 2544, for network tests), one
//! /30 a zone: the host end `.1`, the pods `.2`. The /30's index, its slot,
//! names the host interface (`zc<slot>h`); creating that interface claims
//! the slot atomically, so parallel runs never share an address.

use std::ffi::OsStr;
use std::fs::File;
use std::net::Ipv4Addr;
use std::os::fd::AsRawFd;
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};

use crate::process::{Managed, spawn_quiet};

/// /30 blocks in 198.18.0.0/15.
const SLOTS: u32 = 1 << 15;
/// Slots tried before giving up (each taken one is a parallel run's zone).
const TRIES: u32 = 256;
/// Prefix of every interface this module creates.
pub const INTERFACE_PREFIX: &str = "zc";

/// Why a zone's network could not be set up or changed.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum NetnsError {
    /// No network namespaces or no right to configure them (not root).
    #[error(
        "spot-loss mode blackhole needs root and network namespaces ({0}); run as root, or use mode: refuse"
    )]
    Unavailable(String),
    /// An `ip` command failed.
    #[error("`{command}` failed: {stderr}")]
    Command {
        /// The command line, for the message.
        command: String,
        /// What it said.
        stderr: String,
    },
    /// Every slot tried was taken.
    #[error("no free /30 in 198.18.0.0/15 after {0} tries (other runs hold them)")]
    NoFreeSlot(u32),
}

/// The `ip` binary (iproute2): on PATH, else where Debian puts it.
pub fn ip_binary() -> Option<PathBuf> {
    let on_path = std::env::var_os("PATH")
        .into_iter()
        .flat_map(|p| std::env::split_paths(&p).collect::<Vec<_>>())
        .map(|d| d.join("ip"));
    on_path
        .chain(["/usr/sbin/ip", "/sbin/ip"].map(PathBuf::from))
        .find(|p| p.is_file())
}

/// Address of host end (`1`) or pods (`2`) of a slot's /30.
fn slot_addr(slot: u32, host: u32) -> Ipv4Addr {
    Ipv4Addr::from(u32::from(Ipv4Addr::new(198, 18, 0, 0)) + slot * 4 + host)
}

/// A slot's interface name: `zc<slot><end>`.
fn interface(slot: u32, end: char) -> String {
    format!("{INTERFACE_PREFIX}{slot}{end}")
}

/// The namespace end's MAC address: locally administered, from the slot.
fn mac(slot: u32) -> String {
    format!("02:7a:63:00:{:02x}:{:02x}", slot >> 8, slot & 0xff)
}

/// A first slot to try, different for every call (process, time, counter).
fn first_slot() -> u32 {
    use std::hash::BuildHasher;
    static CALLS: AtomicU32 = AtomicU32::new(0);
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map_or(0, |d| d.subsec_nanos());
    let key = (
        std::process::id(),
        nanos,
        CALLS.fetch_add(1, Ordering::Relaxed),
    );
    (std::collections::hash_map::RandomState::new().hash_one(key) % u64::from(SLOTS)) as u32
}

/// Runs `ip ARGS`; its stderr is the error.
fn ip(ip: &Path, args: &[&str]) -> Result<(), NetnsError> {
    run(Command::new(ip), ip, args)
}

fn run(mut cmd: Command, program: &Path, args: &[&str]) -> Result<(), NetnsError> {
    let out = cmd
        .args(args)
        .stdin(std::process::Stdio::null())
        .output()
        .map_err(|e| NetnsError::Command {
            command: format!("{} {}", program.display(), args.join(" ")),
            stderr: e.to_string(),
        })?;
    if out.status.success() {
        Ok(())
    } else {
        Err(NetnsError::Command {
            command: format!("{} {}", program.display(), args.join(" ")),
            stderr: String::from_utf8_lossy(&out.stderr).trim().to_owned(),
        })
    }
}

/// Makes `cmd` run in the namespace behind `ns` (setns before exec).
#[allow(unsafe_code)] // each block below carries its SAFETY comment
fn enter(cmd: &mut Command, ns: Arc<File>) {
    // SAFETY: setns is a plain system call, safe between fork and exec; the
    // Arc keeps the namespace file open for as long as the Command lives.
    unsafe {
        cmd.pre_exec(move || {
            if libc::setns(ns.as_raw_fd(), libc::CLONE_NEWNET) != 0 {
                return Err(std::io::Error::last_os_error());
            }
            Ok(())
        });
    }
}

/// One zone's network: a namespace, a veth pair into it, and whether the
/// link is blackholed. Dropping it removes the link and ends the namespace
/// once its last process (the holder, the pods) is gone.
#[derive(Debug)]
pub struct ZoneNet {
    slot: u32,
    ip: PathBuf,
    ns: Arc<File>,
    blackholed: bool,
    holder: Managed,
}

impl ZoneNet {
    /// Creates a namespace and a veth pair into it, on a free slot; `log`
    /// takes the holder's output. Without the rights to do so the error is
    /// [`NetnsError::Unavailable`].
    #[allow(unsafe_code)] // each block below carries its SAFETY comment
    pub fn create(ip_bin: &Path, log: &Path) -> Result<ZoneNet, NetnsError> {
        let mut sleep = Command::new("sleep");
        sleep.arg("infinity");
        // SAFETY: unshare is a plain system call, safe between fork and exec.
        unsafe {
            sleep.pre_exec(|| {
                if libc::unshare(libc::CLONE_NEWNET) != 0 {
                    return Err(std::io::Error::last_os_error());
                }
                Ok(())
            });
        }
        let holder = spawn_quiet("network namespace holder", sleep, log)
            .map_err(|e| NetnsError::Unavailable(format!("cannot create one: {e}")))?;
        let pid = holder
            .pid()
            .ok_or_else(|| NetnsError::Unavailable("the holder did not start".into()))?;
        let ns = File::open(format!("/proc/{pid}/ns/net"))
            .map_err(|e| NetnsError::Unavailable(format!("cannot open its namespace: {e}")))?;
        let start = first_slot();
        let pid = pid.to_string();
        for i in 0..TRIES {
            let slot = (start + i) % SLOTS;
            let (host_if, ns_if, mac) = (interface(slot, 'h'), interface(slot, 'n'), mac(slot));
            let add = [
                "link", "add", &host_if, "type", "veth", "peer", "name", &ns_if, "address", &mac,
                "netns", &pid,
            ];
            match ip(ip_bin, &add) {
                Ok(()) => {
                    let net = ZoneNet {
                        slot,
                        ip: ip_bin.to_owned(),
                        ns: Arc::new(ns),
                        blackholed: false,
                        holder,
                    };
                    // On error, dropping `net` removes what was made.
                    net.configure()?;
                    return Ok(net);
                }
                // Another run's zone holds this slot: try the next one.
                Err(NetnsError::Command { stderr, .. }) if stderr.contains("File exists") => {}
                Err(NetnsError::Command { stderr, .. }) => {
                    return Err(NetnsError::Unavailable(format!(
                        "cannot create a veth pair: {stderr}"
                    )));
                }
                Err(e) => return Err(e),
            }
        }
        Err(NetnsError::NoFreeSlot(TRIES))
    }

    /// Addresses, links up, and the host's permanent neighbour entry for
    /// the pods' address (so a blackhole drops packets instead of failing
    /// ARP, which would refuse connects with EHOSTUNREACH).
    fn configure(&self) -> Result<(), NetnsError> {
        let (host_if, ns_if) = (self.host_interface(), self.ns_interface());
        let host = format!("{}/30", self.host_addr());
        let pod = format!("{}/30", self.pod_addr());
        ip(&self.ip, &["addr", "add", &host, "dev", &host_if])?;
        ip(&self.ip, &["link", "set", "dev", &host_if, "up"])?;
        self.ip_inside(&["link", "set", "dev", "lo", "up"])?;
        self.ip_inside(&["addr", "add", &pod, "dev", &ns_if])?;
        self.ip_inside(&["link", "set", "dev", &ns_if, "up"])?;
        ip(
            &self.ip,
            &[
                "neigh",
                "replace",
                &self.pod_addr().to_string(),
                "lladdr",
                &self.mac(),
                "dev",
                &host_if,
                "nud",
                "permanent",
            ],
        )
    }

    fn ip_inside(&self, args: &[&str]) -> Result<(), NetnsError> {
        run(self.command(&self.ip), &self.ip, args)
    }

    /// The host end of the veth pair (`zc<slot>h`, at most 8 characters).
    pub fn host_interface(&self) -> String {
        interface(self.slot, 'h')
    }

    /// The namespace end of the veth pair (`zc<slot>n`).
    pub fn ns_interface(&self) -> String {
        interface(self.slot, 'n')
    }

    fn mac(&self) -> String {
        mac(self.slot)
    }

    /// The host end's address.
    pub fn host_addr(&self) -> Ipv4Addr {
        slot_addr(self.slot, 1)
    }

    /// The address pods in the namespace listen on.
    pub fn pod_addr(&self) -> Ipv4Addr {
        slot_addr(self.slot, 2)
    }

    /// The holder process's id (its `/proc/PID/ns/net` is the namespace).
    pub fn holder_pid(&self) -> Option<u32> {
        self.holder.pid()
    }

    /// A command that runs `program` inside the namespace.
    pub fn command(&self, program: impl AsRef<OsStr>) -> Command {
        let mut cmd = Command::new(program);
        enter(&mut cmd, self.ns.clone());
        cmd
    }

    /// True while packets to the namespace are dropped.
    pub fn is_blackholed(&self) -> bool {
        self.blackholed
    }

    /// Blackholes the namespace (its end of the link down: packets to the
    /// pods' address vanish) or brings it back (link up).
    pub fn set_blackholed(&mut self, on: bool) -> Result<(), NetnsError> {
        let state = if on { "down" } else { "up" };
        self.ip_inside(&["link", "set", "dev", &self.ns_interface(), state])?;
        self.blackholed = on;
        Ok(())
    }
}

impl Drop for ZoneNet {
    fn drop(&mut self) {
        // Deleting one end deletes both; the namespace goes with its last
        // process (the holder is killed right after this).
        let _ = ip(&self.ip, &["link", "del", "dev", &self.host_interface()]);
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn slots_map_to_disjoint_slash_30s_and_short_names() {
        assert_eq!(slot_addr(0, 1), Ipv4Addr::new(198, 18, 0, 1));
        assert_eq!(slot_addr(0, 2), Ipv4Addr::new(198, 18, 0, 2));
        assert_eq!(slot_addr(1, 1), Ipv4Addr::new(198, 18, 0, 5));
        assert_eq!(slot_addr(SLOTS - 1, 2), Ipv4Addr::new(198, 19, 255, 254));
        // Interface names: at most 15 characters (IFNAMSIZ - 1).
        assert!(interface(SLOTS - 1, 'h').len() <= 15);
        assert_eq!(mac(0x1234), "02:7a:63:00:12:34");
        assert!((0..100).all(|_| first_slot() < SLOTS));
    }

    #[test]
    fn unavailable_says_what_is_needed_and_the_way_out() {
        let e = NetnsError::Unavailable("cannot create one: Operation not permitted".into());
        let text = e.to_string();
        assert!(text.contains("blackhole needs root and network namespaces"));
        assert!(text.contains("mode: refuse"));
        assert!(text.contains("Operation not permitted"));
    }
}
