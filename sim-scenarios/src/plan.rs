//! Scenarios and the plans drawn for them from a seed: cluster shape, clock skews,
//! latency, loss, a fault schedule, a workload schedule and the expectations specific
//! to the scenario. Every drawn option is recorded so a failure can print it.

use marmot_core::{Consistency, CoreConfig, NodeId};
use marmot_shell_sim::{ClientTxn, ClusterSpec};
use rand_chacha::ChaCha8Rng;
use rand_core::SeedableRng;

pub use crate::scenario::Scenario;
pub use crate::schedule::{CausalChain, CrashPhase, Expectation, Fault};
use crate::workload::{
    any_consistency, below, counter_increment, fresh_insert, schema_transaction, transaction, DATABASES, SCHEMA,
};

/// Everything drawn for one run.
#[derive(Clone, Debug)]
pub struct Plan {
    /// Which scenario.
    pub scenario: Scenario,
    /// The seed.
    pub seed: u64,
    /// Cluster shape.
    pub spec: ClusterSpec,
    /// Fault schedule (sim ms, fault), sorted.
    pub faults: Vec<(u64, Fault)>,
    /// Workload schedule (sim ms, node, transaction), sorted.
    pub writes: Vec<(u64, NodeId, ClientTxn)>,
    /// Length of the safety phase.
    pub safety_ms: u64,
    /// Convergence bound of the liveness phase.
    pub liveness_ms: u64,
    /// Scenario-specific expectations.
    pub expectations: Vec<Expectation>,
    /// Every option drawn, for the failure report.
    pub options: Vec<(String, String)>,
}

/// For every partition that splits all `n` nodes in two, the smaller side commits no
/// QUORUM or ALL write sent from its start before the next heal. Skipped when membership
/// itself moves (late joiners, removals): the quorum size changes with it.
fn minorities_cannot_commit(faults: &[(u64, Fault)], n: u64, late_nodes: &[NodeId]) -> Vec<Expectation> {
    let membership_moves = !late_nodes.is_empty()
        || faults.iter().any(|(_, f)| matches!(f, Fault::Remove { .. } | Fault::Allow { .. } | Fault::Join(_)));
    if membership_moves {
        return Vec::new();
    }
    let quorum = n / 2 + 1;
    let mut out = Vec::new();
    for (i, (start, f)) in faults.iter().enumerate() {
        let Fault::Partition(a, b) = f else { continue };
        if (a.len() + b.len()) as u64 != n {
            continue; // a third group hears both sides (a bridge)
        }
        let Some(heal) = faults[i..].iter().find(|(_, f)| *f == Fault::Heal).map(|(t, _)| *t) else { continue };
        for side in [a, b] {
            if (side.len() as u64) < quorum && heal > *start {
                out.push(Expectation::QuorumFailsOn { nodes: side.clone(), from: *start, to: heal });
            }
        }
    }
    out
}

struct Draw {
    rng: ChaCha8Rng,
    options: Vec<(String, String)>,
}

impl Draw {
    /// Draw `max_skew_ms` up to `max`, then each clock's skew within ±that.
    fn skew_clocks(&mut self, skews: &mut [i64], max: u64) {
        let skew = self.range("max_skew_ms", 0, max) as i64;
        for s in skews.iter_mut() {
            *s = below(&mut self.rng, (2 * skew + 1) as u64) as i64 - skew;
        }
    }

    fn range(&mut self, name: &str, lo: u64, hi: u64) -> u64 {
        let v = lo + below(&mut self.rng, hi - lo + 1);
        self.options.push((name.into(), v.to_string()));
        v
    }
    fn note(&mut self, name: &str, v: impl std::fmt::Debug) {
        self.options.push((name.into(), format!("{v:?}")));
    }
}

/// Increments of counters `0..counters` from random nodes at QUORUM or ALL, from 500 ms
/// until `until`, one every 1..2×`every` ms.
fn increments(d: &mut Draw, n: u64, until: u64, every: u64, counters: u64) -> Vec<(u64, NodeId, ClientTxn)> {
    let mut w = Vec::new();
    let mut t = 500;
    while t < until {
        let node = 1 + below(&mut d.rng, n);
        let cons = [Consistency::Quorum, Consistency::All][below(&mut d.rng, 2) as usize];
        w.push((t, node, counter_increment(below(&mut d.rng, counters), cons)));
        t += 1 + below(&mut d.rng, every * 2);
    }
    w
}

/// Workload writes at a steady rate on the given nodes.
fn writes(
    d: &mut Draw,
    nodes: &[NodeId],
    from: u64,
    to: u64,
    every_ms: u64,
    keys: u64,
    c: Option<Consistency>,
) -> Vec<(u64, NodeId, ClientTxn)> {
    let mut out = Vec::new();
    let mut t = from;
    while t < to {
        let node = nodes[below(&mut d.rng, nodes.len() as u64) as usize];
        let cons = c.unwrap_or_else(|| any_consistency(&mut d.rng));
        out.push((t, node, transaction(&mut d.rng, keys, cons)));
        t += 1 + below(&mut d.rng, every_ms * 2);
    }
    out
}

/// Node `r` of `n` is down over `window`: QUORUM writes on the others meanwhile, writes
/// everywhere after it comes back.
fn down_and_back(
    d: &mut Draw,
    faults: &mut Vec<(u64, Fault)>,
    n: u64,
    r: NodeId,
    (down_at, up_at): (u64, u64),
    keys: u64,
) -> Vec<(u64, NodeId, ClientTxn)> {
    faults.push((down_at, Fault::Crash(r)));
    faults.push((up_at, Fault::Restart(r)));
    let others: Vec<NodeId> = (1..=n).filter(|x| *x != r).collect();
    let all: Vec<NodeId> = (1..=n).collect();
    let every = d.range("write_every_ms", 10, 40);
    let mut w = writes(d, &others, 500, up_at, every, keys, Some(Consistency::Quorum));
    w.extend(writes(d, &all, up_at + 500, 18_000, every, keys, None));
    w
}

/// With a coin drawn under `coin`, one node goes down at a time drawn from `down_at` for a
/// span drawn from `down_for`, then must catch up. Returns the windows in which writes may
/// fail for want of it (ALL, or sent to it).
fn maybe_restart(
    d: &mut Draw,
    coin: &str,
    n: u64,
    down_at: (u64, u64),
    down_for: (u64, u64),
    faults: &mut Vec<(u64, Fault)>,
    expectations: &mut Vec<Expectation>,
) -> Vec<(u64, u64)> {
    if d.range(coin, 0, 1) != 1 {
        return Vec::new();
    }
    let r = 1 + below(&mut d.rng, n);
    let down_at = d.range("down_at_ms", down_at.0, down_at.1);
    let up_at = down_at + d.range("down_for_ms", down_for.0, down_for.1);
    d.note("restarted", r);
    faults.push((down_at, Fault::Crash(r)));
    faults.push((up_at, Fault::Restart(r)));
    expectations.push(Expectation::CaughtUp { node: r, after: up_at });
    vec![(down_at.saturating_sub(3000), up_at + 6000)]
}

impl Plan {
    /// Draw the plan of `scenario` for `seed`.
    pub fn draw(scenario: Scenario, seed: u64) -> Plan {
        let mut d = Draw { rng: ChaCha8Rng::seed_from_u64(seed ^ 0x6d61_726d_6f74), options: Vec::new() };
        let mut core = CoreConfig::default();
        let mut n: u64 = if seed.is_multiple_of(2) { 3 } else { 5 };
        let mut skews = [0i64; 6];
        let mut max_latency = 1 + below(&mut d.rng, 10);
        let mut min_io_latency = 0;
        let mut equal_clocks = false;
        let mut late_nodes = Vec::new();
        let mut sentinels = Vec::new();
        let mut replicas = Vec::new();
        let mut replica = marmot_core::ReplicaConfig::default();
        let mut faults: Vec<(u64, Fault)> = Vec::new();
        let mut expectations = Vec::new();
        let keys = d.range("keys", 6, 24);
        let mut safety_ms = 20_000;
        let all = |n: u64| (1..=n).collect::<Vec<_>>();
        let wl: Vec<(u64, NodeId, ClientTxn)>;
        match scenario {
            Scenario::SteadyState => {
                let every = d.range("write_every_ms", 20, 80);
                wl = writes(&mut d, &all(n), 500, 15_000, every, keys, None);
                // Half the runs restart one node, as an operator upgrading it would: it
                // misses a few seconds of writes and catches up by delta sync. Writes around
                // its absence may fail for want of it (ALL, or sent to it).
                let except = maybe_restart(
                    &mut d,
                    "planned_restart",
                    n,
                    (3000, 9000),
                    (1000, 4000),
                    &mut faults,
                    &mut expectations,
                );
                expectations.push(Expectation::OnlyConflictsFail { except });
            }
            Scenario::Partition => {
                let minority_size = (n - 1) / 2;
                let mut nodes = all(n);
                let mut minority = Vec::new();
                for _ in 0..minority_size {
                    let i = below(&mut d.rng, nodes.len() as u64) as usize;
                    minority.push(nodes.remove(i));
                }
                minority.sort();
                let majority = nodes;
                let start = d.range("partition_at_ms", 2000, 5000);
                // Long enough, sometimes, for each side to declare the other DEAD.
                let heal = start + d.range("partition_for_ms", 6000, 20_000);
                safety_ms = heal + 5000;
                d.note("minority", &minority);
                faults.push((start, Fault::Partition(minority.clone(), majority.clone())));
                faults.push((heal, Fault::Heal));
                let every = d.range("write_every_ms", 20, 60);
                wl = writes(&mut d, &all(n), 500, heal + 2000, every, keys, Some(Consistency::Quorum));
                // (That the minority commits nothing is derived from the fault
                // schedule, as in every scenario: see `minorities_cannot_commit`.)
                let settle = core.prepare_timeout_ms + 100;
                expectations.push(Expectation::QuorumSucceedsOn {
                    nodes: majority,
                    from: start + 200,
                    to: heal.saturating_sub(settle),
                });
            }
            Scenario::CoordinatorCrash => {
                let c = 1 + below(&mut d.rng, n);
                d.note("coordinator", c);
                let every = d.range("write_every_ms", 5, 20);
                let mut w = writes(&mut d, &[c], 500, 16_000, every, keys, None);
                w.extend(writes(&mut d, &all(n), 500, 16_000, every * 4, keys, None));
                wl = w;
                let mut t = 0;
                for cycle in 0..d.range("crash_cycles", 1, 3) {
                    t += d.range(&format!("crash{cycle}_after_ms"), 1500, 4000);
                    let phase = [CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit]
                        [below(&mut d.rng, 3) as usize];
                    let down_ms = d.range(&format!("crash{cycle}_down_ms"), 300, 4000);
                    d.note(&format!("crash{cycle}_phase"), phase);
                    faults.push((t, Fault::CrashIn { node: c, phase, down_ms, disk_lost: false }));
                    t += down_ms + 3000;
                }
                min_io_latency = 1;
            }
            Scenario::ParticipantCrash => {
                let p = 1 + below(&mut d.rng, n);
                d.note("participant", p);
                let others: Vec<NodeId> = all(n).into_iter().filter(|x| *x != p).collect();
                let every = d.range("write_every_ms", 5, 25);
                wl = writes(&mut d, &others, 500, 16_000, every, keys, None);
                let mut t = 0;
                for cycle in 0..d.range("crash_cycles", 1, 3) {
                    t += d.range(&format!("crash{cycle}_after_ms"), 1500, 5000);
                    let down_ms = d.range(&format!("crash{cycle}_down_ms"), 300, 6000);
                    // A crash at a random moment, or aimed at a participant phase.
                    let aimed = [
                        None,
                        Some(CrashPhase::ParticipantVoting),
                        Some(CrashPhase::ParticipantVoted),
                        Some(CrashPhase::ParticipantCommitting),
                    ][below(&mut d.rng, 4) as usize];
                    d.note(&format!("crash{cycle}_phase"), format!("{aimed:?}"));
                    match aimed {
                        None => {
                            faults.push((t, Fault::Crash(p)));
                            faults.push((t + down_ms, Fault::Restart(p)));
                        }
                        Some(phase) => {
                            faults.push((t, Fault::CrashIn { node: p, phase, down_ms, disk_lost: false }));
                        }
                    }
                    t += down_ms + 3000;
                }
                min_io_latency = 1;
            }
            Scenario::SameRows => {
                n = 3;
                let hot = d.range("hot_keys", 1, 4);
                // Half the seeds run every clock in step, so two nodes writing the same
                // rows in the same millisecond read equal HLCs and the node id breaks the tie.
                equal_clocks = d.range("equal_clocks", 0, 1) == 1;
                let mut w = Vec::new();
                let mut t = 500;
                while t < 15_000 {
                    let a = 1 + below(&mut d.rng, n);
                    let b = 1 + (a + below(&mut d.rng, n - 1)) % n;
                    let cons = any_consistency(&mut d.rng);
                    w.push((t, a, transaction(&mut d.rng, hot, cons)));
                    w.push((t, b, transaction(&mut d.rng, hot, cons)));
                    t += 5 + below(&mut d.rng, 60);
                }
                wl = w;
                expectations.push(Expectation::OnlyConflictsFail { except: Vec::new() });
            }
            Scenario::ClockSkew => {
                for s in skews.iter_mut() {
                    *s = below(&mut d.rng, 4001) as i64 - 2000;
                }
                d.note("skews_ms", &skews[..n as usize]);
                let every = d.range("write_every_ms", 20, 60);
                wl = writes(&mut d, &all(n), 500, 15_000, every, keys, None);
                // Half the runs take a node down for a few seconds: it catches up from
                // logs whose entries carry other nodes' skewed clocks. Writes around its
                // absence may fail for want of it (ALL, or sent to it).
                let except =
                    maybe_restart(&mut d, "catch_up", n, (4000, 8000), (3000, 6000), &mut faults, &mut expectations);
                expectations.push(Expectation::OnlyConflictsFail { except });
                // A client writes on one node, then on another, often from the node with
                // the fastest clock to the one with the slowest.
                let fastest = (1..=n).max_by_key(|i| skews[*i as usize - 1]).unwrap_or(1);
                let slowest = (1..=n).min_by_key(|i| skews[*i as usize - 1]).unwrap_or(2);
                let chains = (0..d.range("causal_chains", 10, 30))
                    .map(|i| {
                        let (first, second) = if below(&mut d.rng, 2) == 0 && fastest != slowest {
                            (fastest, slowest)
                        } else {
                            let a = 1 + below(&mut d.rng, n);
                            (a, 1 + (a + below(&mut d.rng, n - 1)) % n)
                        };
                        CausalChain { at: 1000 + below(&mut d.rng, 13_000), first, second, key: 100_000 + i }
                    })
                    .collect();
                expectations.push(Expectation::CausalChains(chains));
            }
            Scenario::MessageLoss => {
                max_latency = d.range("max_latency_ms", 5, 60);
                let loss = d.range("loss_per_mille", 2, 40) as f64 / 1000.0;
                faults.push((0, Fault::Loss(loss)));
                let every = d.range("write_every_ms", 20, 60);
                wl = writes(&mut d, &all(n), 500, 15_000, every, keys, None);
            }
            Scenario::RestartCatchUp | Scenario::SnapshotCatchUp => {
                let snapshot = scenario == Scenario::SnapshotCatchUp;
                if snapshot {
                    // Some runs lose the first snapshots to corruption: refused, fetched again.
                    let corrupt = d.range("corrupt_chunks", 0, 2) as u32;
                    if corrupt > 0 {
                        faults.push((0, Fault::CorruptSnapshotChunks(corrupt)));
                        expectations.push(Expectation::StorageErrorSeen("checksum"));
                    }
                    core.delta_sync_threshold_txns = d.range("delta_sync_threshold_txns", 20, 60);
                    core.anti_entropy_interval_ms = 2000;
                    core.snapshot_chunk = d.range("snapshot_chunk_bytes", 512, 8192) as u32;
                    // Unlimited, or paced slowly enough that the transfer spans many chunks' time.
                    core.snapshot_bytes_per_sec = [0, 40_000, 400_000][below(&mut d.rng, 3) as usize];
                    d.note("snapshot_bytes_per_sec", core.snapshot_bytes_per_sec);
                }
                let r = 1 + below(&mut d.rng, n);
                d.note("restarted", r);
                let down_at = d.range("down_at_ms", 1000, 3000);
                let up_at = down_at + d.range("down_for_ms", 5000, 12_000);
                wl = down_and_back(&mut d, &mut faults, n, r, (down_at, up_at), keys);
                expectations.push(Expectation::IncarnationBumped { node: r, at_least: 2 });
                expectations.push(Expectation::CaughtUp { node: r, after: up_at });
                if snapshot {
                    expectations.push(Expectation::SnapshotInstalled { node: r, after: up_at });
                }
            }
            Scenario::LogGc => {
                core.gc_interval_ms = d.range("gc_interval_ms", 300, 1000);
                core.gc_min_retention_ms = d.range("gc_min_retention_ms", 300, 1500);
                let past_max = d.range("past_max_retention", 0, 1) == 1;
                let r = 1 + below(&mut d.rng, n);
                d.note("down_node", r);
                let down_at = d.range("down_at_ms", 2000, 4000);
                let down_for = if past_max {
                    core.gc_max_retention_ms = d.range("gc_max_retention_ms", 2000, 3000);
                    d.range("down_for_ms", 6000, 10_000)
                } else {
                    core.gc_max_retention_ms = [0, 60_000][below(&mut d.rng, 2) as usize];
                    d.note("gc_max_retention_ms", core.gc_max_retention_ms);
                    d.range("down_for_ms", 3000, 10_000)
                };
                let up_at = down_at + down_for;
                wl = down_and_back(&mut d, &mut faults, n, r, (down_at, up_at), keys);
                expectations.push(Expectation::LogCollected);
                expectations.push(Expectation::CaughtUp { node: r, after: up_at });
                if past_max {
                    expectations.push(Expectation::LogGapSeen { node: r, after: up_at });
                    expectations.push(Expectation::SnapshotInstalled { node: r, after: up_at });
                } else {
                    expectations.push(Expectation::NoLogGap);
                }
            }
            Scenario::RemovedNode => {
                n = 4;
                let removed = 4;
                let crashed = 3;
                let remove_at = d.range("remove_at_ms", 1500, 3000);
                let crash_at = remove_at + 500;
                let allow_at = crash_at + d.range("removed_for_ms", 6000, 9000);
                faults.push((remove_at, Fault::Remove { via: 1, node: removed }));
                faults.push((crash_at, Fault::Crash(crashed)));
                // The removed node restarts twice while removed, each time with a higher
                // incarnation: neither revives it (its writes stay refused, and it is not
                // counted, or nodes 1 and 2 alone could not reach a quorum).
                let bounce = remove_at + d.range("removed_restart_after_ms", 1000, 2500);
                faults.push((bounce, Fault::Crash(removed)));
                faults.push((bounce + 300, Fault::Restart(removed)));
                faults.push((bounce + 2000, Fault::Crash(removed)));
                faults.push((bounce + 2100, Fault::Restart(removed)));
                faults.push((allow_at, Fault::Allow { via: 2, node: removed }));
                faults.push((allow_at + 500, Fault::Restart(crashed)));
                let every = d.range("write_every_ms", 20, 60);
                wl = writes(&mut d, &all(n), 500, safety_ms - 2000, every, keys, Some(Consistency::Quorum));
                expectations.push(Expectation::RemovedRefused { node: removed, from: remove_at + 300, to: allow_at });
                // With 4 non-removed members quorum would be 3, unreachable with node 3
                // down and node 4 refused; the removal shrinks it to 2 of 3.
                expectations.push(Expectation::QuorumSucceedsOn {
                    nodes: vec![1, 2],
                    from: crash_at + 300,
                    to: allow_at,
                });
            }
            Scenario::NewNodeJoins => {
                n += 1;
                let newcomer = n;
                late_nodes.push(newcomer);
                let join_at = d.range("join_at_ms", 3000, 8000);
                faults.push((join_at, Fault::Join(newcomer)));
                let old: Vec<NodeId> = (1..n).collect();
                let every = d.range("write_every_ms", 20, 60);
                let mut w = writes(&mut d, &old, 500, 16_000, every, keys, Some(Consistency::Quorum));
                w.extend(writes(
                    &mut d,
                    &[newcomer],
                    join_at + 3000,
                    16_000,
                    every * 3,
                    keys,
                    Some(Consistency::Quorum),
                ));
                wl = w;
                expectations.push(Expectation::CaughtUp { node: newcomer, after: join_at });
                expectations.push(Expectation::SnapshotInstalled { node: newcomer, after: join_at });
                expectations.push(Expectation::QuorumSucceedsOn {
                    nodes: vec![newcomer],
                    from: join_at + 3000,
                    to: 16_000,
                });
            }
            Scenario::SchemaChanges => {
                let every = d.range("write_every_ms", 20, 60);
                let mut w = writes(&mut d, &all(n), 500, 15_000, every, keys, None);
                let ddl_every = d.range("ddl_every_ms", 100, 500);
                let mut t = 700;
                while t < 15_000 {
                    let a = 1 + below(&mut d.rng, n);
                    let cons = [Consistency::Quorum, Consistency::All][below(&mut d.rng, 2) as usize];
                    w.push((t, a, schema_transaction(&mut d.rng, cons)));
                    if below(&mut d.rng, 3) == 0 {
                        // A second node changes the schema at the same instant.
                        let b = 1 + (a + below(&mut d.rng, n - 1)) % n;
                        w.push((t, b, schema_transaction(&mut d.rng, cons)));
                    }
                    t += 1 + below(&mut d.rng, ddl_every * 2);
                }
                wl = w;
                expectations.push(Expectation::SchemaChangesCommit(5));
                if d.range("partitioned", 0, 1) == 1 {
                    let cut = 1 + below(&mut d.rng, n - 1);
                    let start = d.range("partition_at_ms", 2000, 6000);
                    let heal = start + d.range("partition_for_ms", 2000, 8000);
                    faults.push((start, Fault::Partition((1..=cut).collect(), (cut + 1..=n).collect())));
                    faults.push((heal, Fault::Heal));
                }
            }
            Scenario::LostUpdate => {
                d.skew_clocks(&mut skews, 2000);
                max_latency = d.range("max_latency_ms", 1, 40);
                let counters = d.range("counters", 1, 3);
                let every = d.range("write_every_ms", 5, 30);
                wl = increments(&mut d, n, 15_000, every, counters);
                if d.range("partitioned", 0, 1) == 1 {
                    let cut = 1 + below(&mut d.rng, n - 1);
                    let start = d.range("partition_at_ms", 2000, 6000);
                    faults.push((start, Fault::Partition((1..=cut).collect(), (cut + 1..=n).collect())));
                    faults.push((start + d.range("partition_for_ms", 1000, 6000), Fault::Heal));
                }
                let phase = [CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit]
                    [below(&mut d.rng, 3) as usize];
                d.note("crash_phase", phase);
                let crash_at = d.range("crash_at_ms", 3000, 10_000);
                let node = 1 + below(&mut d.rng, n);
                let down_ms = d.range("down_ms", 500, 4000);
                faults.push((crash_at, Fault::CrashIn { node, phase, down_ms, disk_lost: false }));
                expectations.push(Expectation::CountersMatchAcks { counters });
            }
            Scenario::DiskLoss => {
                d.skew_clocks(&mut skews, 500);
                max_latency = d.range("max_latency_ms", 1, 20);
                let counters = d.range("counters", 1, 3);
                let every = d.range("write_every_ms", 5, 30);
                // Counters in `app`; the mixed workload in `shop` only (there it would
                // overwrite the counter rows).
                let mut w = writes(&mut d, &all(n), 500, 16_000, every * 2, keys, None);
                for (_, _, txn) in w.iter_mut() {
                    txn.database = "shop".into();
                }
                w.extend(increments(&mut d, n, 16_000, every, counters));
                wl = w;
                let phase = [CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit]
                    [below(&mut d.rng, 3) as usize];
                d.note("crash_phase", phase);
                let first = 1 + below(&mut d.rng, n);
                let crash_at = d.range("crash_at_ms", 2000, 5000);
                let down_ms = d.range("down_ms", 300, 3000);
                faults.push((crash_at, Fault::CrashIn { node: first, phase, down_ms, disk_lost: true }));
                // The second loss waits until the first node has caught up again (its
                // snapshots are small): a majority losing its disks at once loses data
                // that no protocol can keep.
                let second = 1 + (first + below(&mut d.rng, n - 1)) % n;
                let second_at = crash_at + 3000 + down_ms + d.range("second_after_ms", 3000, 6000);
                faults.push((second_at, Fault::CrashLosingDisk(second)));
                faults.push((second_at + d.range("second_down_ms", 300, 3000), Fault::Restart(second)));
                expectations.push(Expectation::CountersMatchAcks { counters });
                min_io_latency = 1;
            }
            Scenario::CoordinatorLost => {
                max_latency = d.range("max_latency_ms", 1, 20);
                let c = 1 + below(&mut d.rng, n);
                d.note("coordinator", c);
                let crash_at = d.range("crash_at_ms", 2000, 6000);
                let phase =
                    [CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit, CrashPhase::Answered]
                        [below(&mut d.rng, 4) as usize];
                d.note("crash_phase", phase);
                let every = d.range("write_every_ms", 3, 15);
                // It writes hard until it goes (QUORUM and ALL: a ONE write is decided by its
                // coordinator's word, and lost with its disk); the others write throughout,
                // then stop, so that what is left in doubt at the end can only be its own.
                let writes_end = crash_at + 6000;
                let mut w = writes(&mut d, &[c], 500, crash_at + 3000, every, keys, Some(Consistency::Quorum));
                w.extend(writes(&mut d, &[c], 500, crash_at + 3000, every * 3, keys, Some(Consistency::All)));
                let others: Vec<NodeId> = all(n).into_iter().filter(|x| *x != c).collect();
                w.extend(writes(&mut d, &others, 500, writes_end, every * 4, keys, None));
                wl = w;
                faults.push((crash_at, Fault::CrashIn { node: c, phase, down_ms: 3_600_000, disk_lost: true }));
                // The phase may take up to 3 s to come; then the members need the heartbeat
                // timeout to give up on it, and a few rounds of questions.
                safety_ms = writes_end + core.heartbeat_timeout_ms + 10_000;
                expectations.push(Expectation::NothingInDoubtFrom { coordinator: c });
                min_io_latency = 1;
            }
            Scenario::Replica => {
                n = 4;
                replicas.push(4);
                replica.failover_timeout_ms = d.range("failover_timeout_ms", 2000, 4000);
                replica.reconnect_interval_ms = 300;
                replica.reconnect_max_backoff_ms = 1500;
                replica.discovery_interval_ms = 1000;
                replica.database_discovery_interval_ms = 1000;
                let members = [1, 2, 3];
                let every = d.range("write_every_ms", 10, 50);
                wl = writes(&mut d, &members, 500, 17_000, every, keys, None);
                // Its only configured source goes away for longer than the failover timeout.
                let crash_at = d.range("source_crash_at_ms", 2000, 5000);
                let back_at = crash_at + replica.failover_timeout_ms + d.range("source_down_extra_ms", 1000, 4000);
                faults.push((crash_at, Fault::Crash(1)));
                faults.push((back_at, Fault::Restart(1)));
                // Then it is cut off from every member (and may fail over again).
                let cut_at = back_at + d.range("isolated_after_ms", 1000, 3000);
                let heal_at = cut_at + d.range("isolated_for_ms", 1000, 2 * replica.failover_timeout_ms);
                faults.push((cut_at, Fault::Partition(vec![4], members.to_vec())));
                faults.push((heal_at, Fault::Heal));
                safety_ms = (heal_at + 3000).max(20_000);
                expectations.push(Expectation::SnapshotInstalled { node: 4, after: 0 });
                expectations.push(Expectation::FailedOver { node: 4, from: 1, after: crash_at });
            }
            Scenario::Sentinel => {
                n = 3;
                sentinels.push(3);
                max_latency = d.range("max_latency_ms", 1, 20);
                // A coordinator cut off mid-transaction leaves its intents on the sentinel
                // until they are resolved (after the heartbeat timeout): kept short here so
                // the side with the sentinel is not held up for the whole partition.
                core.heartbeat_timeout_ms = d.range("heartbeat_timeout_ms", 1000, 2000);
                let counters = d.range("counters", 2, 4);
                let every = d.range("write_every_ms", 5, 30);
                let settle = core.prepare_timeout_ms + 100;
                // The sentinel with node 1, node 2 alone; then with node 2, node 1 alone —
                // sometimes before node 2 caught up with what node 1 committed meanwhile
                // (it catches up from the sentinel's log; until then the sentinel refuses
                // its stale reads with 1213).
                let first = d.range("first_partition_at_ms", 1500, 3000);
                let first_heal = first + d.range("first_partition_for_ms", 6000, 9000);
                let second = first_heal + d.range("second_partition_after_ms", 0, 1500);
                let second_heal = second + d.range("second_partition_for_ms", 6000, 9000);
                let ready = core.heartbeat_timeout_ms + 1500;
                for (start, heal, with, alone) in [(first, first_heal, 1, 2), (second, second_heal, 2, 1)] {
                    faults.push((start, Fault::Partition(vec![alone], vec![with, 3])));
                    faults.push((heal, Fault::Heal));
                    expectations.push(Expectation::QuorumFailsOn {
                        nodes: vec![alone],
                        from: start,
                        to: heal.saturating_sub(settle),
                    });
                    expectations.push(Expectation::QuorumSucceedsOn {
                        nodes: vec![with],
                        from: start + ready,
                        to: heal.saturating_sub(settle),
                    });
                }
                // Then either data node is lost for a while: the other goes on with the
                // sentinel.
                let lost = 1 + below(&mut d.rng, 2);
                d.note("crashed_data_node", lost);
                let crash = second_heal + d.range("crash_after_ms", 1000, 3000);
                let up = crash + d.range("down_ms", 7000, 9000);
                faults.push((crash, Fault::Crash(lost)));
                faults.push((up, Fault::Restart(lost)));
                let other = 3 - lost;
                expectations.push(Expectation::QuorumSucceedsOn {
                    nodes: vec![other],
                    from: crash + ready,
                    to: up.saturating_sub(settle),
                });
                // Counter increments (the lost-update check), and inserts of fresh keys,
                // which no in-doubt transaction of a crashed coordinator can hold up (the
                // availability checks).
                let mut w = Vec::new();
                let mut t = 500;
                while t < up + 1000 {
                    let node = 1 + below(&mut d.rng, 2);
                    let txn = if below(&mut d.rng, 3) == 0 {
                        fresh_insert(w.len() as u64)
                    } else {
                        counter_increment(below(&mut d.rng, counters), Consistency::Quorum)
                    };
                    w.push((t, node, txn));
                    t += 1 + below(&mut d.rng, every * 2);
                }
                wl = w;
                safety_ms = safety_ms.max(up + 3000);
                expectations.push(Expectation::CountersMatchAcks { counters });
            }
            Scenario::Swarm => {
                n = d.range("nodes", 3, 5);
                d.skew_clocks(&mut skews, 2000);
                max_latency = d.range("max_latency_ms", 1, 40);
                let loss = d.range("loss_per_mille", 0, 20) as f64 / 1000.0;
                faults.push((0, Fault::Loss(loss)));
                let events = d.range("fault_events", 1, 6);
                let mut down: Vec<NodeId> = Vec::new();
                let mut t = 0;
                for _ in 0..events {
                    t += 500 + below(&mut d.rng, 3000);
                    match below(&mut d.rng, 5) {
                        0 if (down.len() as u64) < (n - 1) / 2 => {
                            let x = 1 + below(&mut d.rng, n);
                            if !down.contains(&x) {
                                down.push(x);
                                faults.push((t, Fault::Crash(x)));
                                faults.push((t + 300 + below(&mut d.rng, 5000), Fault::Restart(x)));
                            }
                        }
                        1 => {
                            let cut = 1 + below(&mut d.rng, n - 1);
                            let a: Vec<NodeId> = (1..=cut).collect();
                            let b: Vec<NodeId> = (cut + 1..=n).collect();
                            faults.push((t, Fault::Partition(a, b)));
                            faults.push((t + 500 + below(&mut d.rng, 6000), Fault::Heal));
                        }
                        2 => faults.push((t, Fault::Loss(below(&mut d.rng, 30) as f64 / 1000.0))),
                        3 => {
                            // One node stops hearing the others, or they stop hearing it.
                            let x = 1 + below(&mut d.rng, n);
                            let others: Vec<NodeId> = (1..=n).filter(|o| *o != x).collect();
                            let (from, to) =
                                if below(&mut d.rng, 2) == 0 { (vec![x], others) } else { (others, vec![x]) };
                            faults.push((t, Fault::PartitionOneWay { from, to }));
                            faults.push((t + 500 + below(&mut d.rng, 6000), Fault::Heal));
                        }
                        _ => {
                            // A stall; one in four outlasts the heartbeat timeout, so its
                            // prepared transactions meet the stale-transaction resolution.
                            let x = 1 + below(&mut d.rng, n);
                            let ms = if below(&mut d.rng, 4) == 0 {
                                core.heartbeat_timeout_ms + 500 + below(&mut d.rng, 3000)
                            } else {
                                50 + below(&mut d.rng, 4000)
                            };
                            faults.push((t, Fault::Pause { node: x, ms }));
                        }
                    }
                }
                let every = d.range("write_every_ms", 10, 60);
                wl = writes(&mut d, &all(n), 500, 16_000, every, keys, None);
                // Log GC at full speed under every fault: without forced deletion no
                // peer may ever miss an entry.
                core.gc_interval_ms = d.range("gc_interval_ms", 200, 2000);
                core.gc_min_retention_ms = d.range("gc_min_retention_ms", 0, 2000);
                core.gc_max_retention_ms = 0;
                expectations.push(Expectation::NoLogGap);
                expectations.push(Expectation::LogCollected);
            }
        }
        if !equal_clocks && !matches!(scenario, Scenario::ClockSkew | Scenario::Swarm | Scenario::LostUpdate) {
            // A little jitter between clocks everywhere.
            for s in skews.iter_mut() {
                *s = below(&mut d.rng, 41) as i64 - 20;
            }
        }
        faults.sort_by_key(|f| f.0);
        expectations.extend(minorities_cannot_commit(&faults, n, &late_nodes));
        let mut wl = wl;
        wl.sort_by_key(|w| w.0);
        d.options.insert(0, ("nodes".into(), n.to_string()));
        d.note("max_latency_ms", max_latency);
        let io_latency_ms = d.range("io_latency_ms", min_io_latency, 3);
        d.note("writes", wl.len());
        d.note("faults", &faults);
        let spec = ClusterSpec {
            nodes: n,
            seed,
            core,
            skews_ms: skews[..n as usize].to_vec(),
            schema: DATABASES.iter().map(|db| (db.to_string(), SCHEMA.to_string())).collect(),
            min_latency_ms: 1,
            max_latency_ms: max_latency,
            io_latency_ms,
            late_nodes,
            sentinels,
            replicas,
            replica,
            verify_snapshot_checksums: true,
        };
        Plan {
            scenario,
            seed,
            spec,
            faults,
            writes: wl,
            safety_ms,
            liveness_ms: 60_000,
            expectations,
            options: d.options,
        }
    }
}
