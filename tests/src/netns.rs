//! Hosts of our own on one machine: a network namespace per node, joined by veth pairs to
//! a bridge in a hub namespace, plus a client namespace for the test's MySQL clients.
//! Partitions are iptables DROP rules inside a node's namespace (one-way or both ways,
//! any shape: majority/minority, a bridge node seeing both sides), or a veth taken down.
//!
//! Needs root (network namespaces); a test that uses it fails, saying so, without root.
//! Every namespace (and with it every veth and rule) is deleted when the [`Network`] is
//! dropped, also when the test fails; namespaces left by a killed test run are swept at
//! the next [`Network::create`].

use std::process::{Command, Output};
use std::sync::atomic::{AtomicU64, Ordering};

/// Prefix of every namespace this harness makes: `mt<pid>x<k>-…`.
const PREFIX: &str = "mt";

/// Node `i` (0-based) lives at 10.77.0.`i + 1`; the client at 10.77.0.250.
const SUBNET: &str = "10.77.0";
const CLIENT_HOST: u8 = 250;

/// A set of namespaces: the hub (bridge), `n` nodes and one client.
pub struct Network {
    name: String,
    nodes: usize,
}

fn run(args: &[&str]) -> Output {
    Command::new(args[0]).args(&args[1..]).output().unwrap_or_else(|e| panic!("{}: {e}", args.join(" ")))
}

fn must(args: &[&str]) {
    let out = run(args);
    assert!(out.status.success(), "{}: {}", args.join(" "), String::from_utf8_lossy(&out.stderr));
}

/// Fail (never skip) when this process cannot make namespaces.
fn require_root() {
    let uid = run(&["id", "-u"]);
    let uid = String::from_utf8_lossy(&uid.stdout).trim().to_string();
    assert_eq!(uid, "0", "this test makes network namespaces and needs root (run the suite as root)");
    for tool in ["ip", "iptables"] {
        let found = Command::new("sh").args(["-c", &format!("command -v {tool}")]).output();
        assert!(found.is_ok_and(|o| o.status.success()), "{tool} not found: apt-get install iproute2 iptables");
    }
}

/// Delete namespaces of earlier runs whose process is gone.
fn sweep_stale() {
    let list = run(&["ip", "netns", "list"]);
    for line in String::from_utf8_lossy(&list.stdout).lines() {
        let name = line.split_whitespace().next().unwrap_or("");
        let Some(pid) = name.strip_prefix(PREFIX).and_then(|r| r.split('x').next()) else { continue };
        if pid.parse::<u32>().is_ok() && !std::path::Path::new(&format!("/proc/{pid}")).exists() {
            let _ = run(&["ip", "netns", "del", name]);
        }
    }
}

impl Network {
    /// Make the hub, `n` node namespaces and the client namespace, all on one bridge.
    pub fn create(n: usize) -> Network {
        assert!(n < CLIENT_HOST as usize, "at most {} nodes", CLIENT_HOST - 1);
        require_root();
        sweep_stale();
        static NEXT: AtomicU64 = AtomicU64::new(0);
        let name = format!("{PREFIX}{}x{}", std::process::id(), NEXT.fetch_add(1, Ordering::SeqCst));
        let net = Network { name, nodes: n };
        let hub = net.hub();
        must(&["ip", "netns", "add", &hub]);
        must(&["ip", "-n", &hub, "link", "add", "br0", "type", "bridge"]);
        must(&["ip", "-n", &hub, "link", "set", "br0", "up"]);
        let hosts: Vec<(String, String, u8)> = (0..n)
            .map(|i| (net.ns(i), format!("p{i}"), i as u8 + 1))
            .chain([(net.client_ns(), "pc".to_string(), CLIENT_HOST)])
            .collect();
        for (ns, port, host) in hosts {
            must(&["ip", "netns", "add", &ns]);
            must(&["ip", "-n", &ns, "link", "set", "lo", "up"]);
            must(&["ip", "-n", &ns, "link", "add", "eth0", "type", "veth", "peer", "name", &port, "netns", &hub]);
            must(&["ip", "-n", &ns, "addr", "add", &format!("{SUBNET}.{host}/24"), "dev", "eth0"]);
            must(&["ip", "-n", &ns, "link", "set", "eth0", "up"]);
            must(&["ip", "-n", &hub, "link", "set", &port, "master", "br0"]);
            must(&["ip", "-n", &hub, "link", "set", &port, "up"]);
        }
        net
    }

    fn hub(&self) -> String {
        format!("{}-hub", self.name)
    }

    /// The namespace of node `i` (0-based).
    pub fn ns(&self, i: usize) -> String {
        format!("{}-n{i}", self.name)
    }

    /// The namespace the test's clients run in.
    pub fn client_ns(&self) -> String {
        format!("{}-cl", self.name)
    }

    /// Node `i`'s address.
    pub fn addr(&self, i: usize) -> String {
        format!("{SUBNET}.{}", i + 1)
    }

    /// `program` run inside namespace `ns` (`ip netns exec` replaces itself with it, so
    /// the child's pid is the program's).
    pub fn command_in(ns: &str, program: &str) -> Command {
        let mut c = Command::new("ip");
        c.args(["netns", "exec", ns, program]);
        c
    }

    /// Drop everything node `to` receives from node `from` (a one-way cut).
    pub fn cut_one_way(&self, from: usize, to: usize) {
        must(&["ip", "netns", "exec", &self.ns(to), "iptables", "-A", "INPUT", "-s", &self.addr(from), "-j", "DROP"]);
    }

    /// Cut nodes `a` and `b` apart, both ways.
    pub fn cut(&self, a: usize, b: usize) {
        self.cut_one_way(a, b);
        self.cut_one_way(b, a);
    }

    /// Cut every node of `side` from every node not in it (the client still reaches all).
    pub fn partition(&self, side: &[usize]) {
        for &a in side {
            for b in (0..self.nodes).filter(|b| !side.contains(b)) {
                self.cut(a, b);
            }
        }
    }

    /// Remove every cut.
    pub fn heal(&self) {
        for i in 0..self.nodes {
            must(&["ip", "netns", "exec", &self.ns(i), "iptables", "-F", "INPUT"]);
        }
    }

    /// Take node `i`'s link down (or back up): it reaches no one, not even the client.
    pub fn set_link(&self, i: usize, up: bool) {
        must(&["ip", "-n", &self.hub(), "link", "set", &format!("p{i}"), if up { "up" } else { "down" }]);
    }
}

impl Drop for Network {
    fn drop(&mut self) {
        for ns in (0..self.nodes).map(|i| self.ns(i)).chain([self.client_ns(), self.hub()]) {
            let _ = run(&["ip", "netns", "del", &ns]);
        }
    }
}
