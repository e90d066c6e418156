//! Running plans: the safety phase, the liveness phase, the checks, and the seed loop
//! with its replay instructions.

use std::time::Instant;

use marmot_core::io::AdminCmd;
use marmot_core::{Consistency, NodeId, Observation, TxnId, WriteError};
use marmot_shell_sim::{ClientOutcome, ClientResult, ClientTxn, SimCluster};

use std::collections::{BTreeMap, BTreeSet};

use crate::checks::{check_counters, check_final, divergence, snapshots, NodeSnap};
use crate::plan::{CausalChain, CrashPhase, Expectation, Fault, Plan, Scenario};

/// What a successful run measured.
#[derive(Clone, Debug)]
pub struct RunReport {
    /// Seed run.
    pub seed: u64,
    /// Client transactions committed.
    pub committed: usize,
    /// Client transactions failed (conflicts, lost quorum, host down).
    pub failed: usize,
    /// Simulated time when the cluster converged.
    pub converged_at_ms: u64,
    /// Hash of the whole trace.
    pub trace_hash: u64,
    /// Phase-triggered crashes that found their window.
    pub crash_hits: Vec<CrashPhase>,
    /// Failed client transactions by reason.
    pub failures: std::collections::BTreeMap<&'static str, usize>,
    /// Pairs of transactions of different nodes that wrote the same row with equal HLC
    /// readings (wall and logical): LWW had to fall back on the node id.
    pub hlc_ties: usize,
    /// Causal chains whose two writes both committed (and were checked for order).
    pub chains_completed: usize,
}

/// Count pairs of transactions from different nodes writing the same row at the same
/// (wall, logical) reading.
fn hlc_ties(archive: &BTreeMap<marmot_core::TxnId, marmot_core::Txn>) -> usize {
    /// (database, table, row key, HLC wall, HLC logical).
    type RowAtReading = (String, String, Vec<u8>, u64, u32);
    let mut by_row: BTreeMap<RowAtReading, BTreeSet<NodeId>> = BTreeMap::new();
    for txn in archive.values() {
        for r in txn.rows.iter().filter(|r| !r.is_schema_change()) {
            let key = (r.database.clone(), r.table.clone(), r.key.0.clone(), txn.id.wall, txn.id.logical);
            by_row.entry(key).or_default().insert(txn.id.node);
        }
    }
    by_row.values().map(|nodes| nodes.len() * nodes.len().saturating_sub(1) / 2).sum()
}

/// A short category for a failed outcome.
pub fn failure_kind(o: &ClientOutcome) -> Option<&'static str> {
    match o {
        ClientOutcome::Refused(e) => Some(match e {
            WriteError::Conflict => "conflict",
            WriteError::NotEnoughAcks { .. } => "no_quorum",
            WriteError::CommitUnconfirmed { .. } => "unconfirmed",
            WriteError::InDoubt { .. } => "in_doubt",
            WriteError::Removed => "removed",
            WriteError::Joining => "joining",
            WriteError::ReadOnly { .. } => "read_only",
            WriteError::Storage(_) | WriteError::Empty => "other",
        }),
        ClientOutcome::Failed(_) => Some("other"),
        ClientOutcome::HostDown => Some("host_down"),
        _ => None,
    }
}

/// A phase-triggered crash waiting for its window.
struct Armed {
    node: u64,
    phase: CrashPhase,
    down_ms: u64,
    disk_lost: bool,
    deadline: u64,
    /// [`CrashPhase::Answered`]: the peers it was cut off from once it decided a commit
    /// (so no COMMIT gets out), waiting for its client to be answered.
    isolated: Option<Vec<NodeId>>,
}

/// Faults that play out over time: armed crashes and the restarts they schedule.
#[derive(Default)]
struct Pending {
    armed: Vec<Armed>,
    /// (when, node, the links its crash cut to lose COMMITs in flight).
    restarts: Vec<(u64, u64, Vec<NodeId>)>,
    hits: Vec<CrashPhase>,
}

impl Pending {
    fn tick(&mut self, c: &mut SimCluster, seed: u64) {
        let now = c.elapsed_ms();
        let mut i = 0;
        while i < self.armed.len() {
            let a = &self.armed[i];
            let ph = c.phases(a.node);
            let (s, targets, p) = (ph.coordinating, ph.commit_targets, ph.participating);
            let hit = match a.phase {
                CrashPhase::Preparing => s.preparing > 0,
                CrashPhase::Deciding => s.deciding > 0,
                CrashPhase::PartialCommit => s.committing > 0 && !targets.is_empty(),
                CrashPhase::Answered => a.isolated.is_some() && s.committing > 0,
                CrashPhase::ParticipantVoting => p.voting > 0,
                CrashPhase::ParticipantVoted => p.voted > 0,
                CrashPhase::ParticipantCommitting => p.committing > 0,
            };
            if a.phase == CrashPhase::Answered && a.isolated.is_none() && s.deciding > 0 && now < a.deadline {
                // Decided, its own commit not durable yet, nothing sent: cut it off now,
                // and crash it once its client has the answer.
                let peers: Vec<NodeId> = (1..=c.spec().nodes).filter(|n| *n != a.node).collect();
                c.partition(&[a.node], &peers);
                let a = &mut self.armed[i];
                a.isolated = Some(peers);
                a.deadline = now + 1000;
                i += 1;
                continue;
            }
            if !hit && now < a.deadline {
                i += 1;
                continue;
            }
            let a = self.armed.swap_remove(i);
            let partial = hit && a.phase == CrashPhase::PartialCommit;
            let mut cut = a.isolated.clone().unwrap_or_default();
            if partial {
                // Cut the coordinator off from a seeded half of its participants: the
                // COMMITs in flight to them are lost with the link.
                cut = targets.iter().copied().filter(|t| (seed ^ now ^ t).count_ones().is_multiple_of(2)).collect();
                if cut.is_empty() {
                    cut.push(targets[0]);
                }
                c.partition(&[a.node], &cut);
            }
            if hit {
                self.hits.push(a.phase);
            }
            c.crash(a.node);
            if a.disk_lost {
                c.lose_disk(a.node).unwrap_or_else(|e| c.note_violation(format!("losing node {}'s disk: {e}", a.node)));
            }
            self.restarts.push((now + a.down_ms, a.node, cut));
        }
        let mut j = 0;
        while j < self.restarts.len() {
            if self.restarts[j].0 <= now {
                let (_, node, cut) = self.restarts.swap_remove(j);
                // Lift only this crash's cut: a scenario's partition stays.
                c.unpartition(&[node], &cut);
                c.restart(node);
            } else {
                j += 1;
            }
        }
    }
}

fn apply_fault(c: &mut SimCluster, f: &Fault, pending: &mut Pending) {
    match f {
        Fault::CrashIn { node, phase, down_ms, disk_lost } => pending.armed.push(Armed {
            node: *node,
            phase: *phase,
            down_ms: *down_ms,
            disk_lost: *disk_lost,
            deadline: c.elapsed_ms() + 3000,
            isolated: None,
        }),
        Fault::CrashLosingDisk(n) => {
            c.crash(*n);
            c.lose_disk(*n).unwrap_or_else(|e| c.note_violation(format!("losing node {n}'s disk: {e}")));
        }
        Fault::Partition(a, b) => c.partition(a, b),
        Fault::Heal => c.heal(),
        Fault::PartitionOneWay { from, to } => c.partition_oneway(from, to),
        Fault::Pause { node, ms } => c.pause(*node, *ms),
        Fault::Join(n) => c.start(*n),
        Fault::Crash(n) => c.crash(*n),
        Fault::Restart(n) => c.restart(*n),
        Fault::Loss(r) => c.set_loss(*r),
        Fault::CorruptSnapshotChunks(n) => c.corrupt_snapshot_chunks(*n),
        Fault::Remove { via, node } => {
            c.admin(*via, AdminCmd::Remove(*node));
        }
        Fault::Allow { via, node } => {
            c.admin(*via, AdminCmd::Allow(*node));
        }
    }
}

/// A write that failed for want of members: too few to ask, or too few answers in time
/// with none refusing it (a write in doubt because a member refused it — a conflict while
/// another member it asked was unreachable — is a conflict, not a lost quorum).
fn is_quorum_failure(o: &ClientOutcome) -> bool {
    matches!(o, ClientOutcome::Refused(WriteError::NotEnoughAcks { .. } | WriteError::InDoubt { refused: 0, .. }))
}

/// Whether `node` reported an observation matching `what` at or after `after` ms.
fn observed(c: &SimCluster, node: NodeId, after: u64, what: impl Fn(&Observation) -> bool) -> bool {
    c.observations_timed().iter().any(|(t, id, o)| *id == node && *t >= after && what(o))
}

fn check_expectations(plan: &Plan, c: &SimCluster, snaps: &BTreeMap<NodeId, NodeSnap>) -> Vec<String> {
    let mut v = Vec::new();
    let results = c.results();
    let in_window =
        |node: u64, nodes: &[u64], from: u64, to: u64, sent: u64| nodes.contains(&node) && sent >= from && sent < to;
    for e in &plan.expectations {
        match e {
            Expectation::QuorumFailsOn { nodes, from, to } => {
                for r in &results {
                    let quorum = r.txn.as_ref().is_some_and(|t| t.consistency != Consistency::One);
                    let before_heal = r.answered_ms.is_some_and(|t| t < *to);
                    if quorum && before_heal && nodes.contains(&r.node) && r.sent_ms >= *from {
                        if let Some(ClientOutcome::Committed(id)) = &r.outcome {
                            v.push(format!(
                                "QUORUM write {id} sent to minority node {} at {} ms committed at {:?} ms, before {to} ms",
                                r.node, r.sent_ms, r.answered_ms
                            ));
                        }
                    }
                }
            }
            Expectation::QuorumSucceedsOn { nodes, from, to } => {
                let mut ok = 0;
                let mut other: BTreeMap<&str, usize> = BTreeMap::new();
                for r in &results {
                    if r.txn.is_some() && in_window(r.node, nodes, *from, *to, r.sent_ms) {
                        match &r.outcome {
                            Some(ClientOutcome::Committed(_)) => ok += 1,
                            Some(o) if !is_quorum_failure(o) => {
                                *other.entry(failure_kind(o).unwrap_or("other")).or_default() += 1
                            }
                            Some(o) if is_quorum_failure(o) => v.push(format!(
                                "write sent to majority node {} at {} ms failed: {o:?}",
                                r.node, r.sent_ms
                            )),
                            _ => {}
                        }
                    }
                }
                if ok == 0 {
                    v.push(format!(
                        "no QUORUM write committed on nodes {nodes:?} in [{from}, {to}) ms (failures there: {other:?})"
                    ));
                }
            }
            Expectation::RemovedRefused { node, from, to } => {
                for r in &results {
                    if r.txn.is_some() && in_window(r.node, &[*node], *from, *to, r.sent_ms) {
                        if let Some(ClientOutcome::Committed(id)) = &r.outcome {
                            v.push(format!("write {id} on removed node {node} committed at {} ms", r.sent_ms));
                        }
                    }
                }
                let refused = c
                    .observations()
                    .iter()
                    .any(|(_, o)| matches!(o, Observation::RefusedRemoved { from } if from == node));
                if !refused {
                    v.push(format!("no node refused traffic from removed node {node}"));
                }
            }
            Expectation::SchemaChangesCommit(at_least) => {
                let n = results
                    .iter()
                    .filter(|r| r.txn.as_ref().is_some_and(|t| t.schema_change))
                    .filter(|r| matches!(r.outcome, Some(ClientOutcome::Committed(_))))
                    .count();
                if n < *at_least {
                    v.push(format!("only {n} schema changes committed; the scenario needs at least {at_least}"));
                }
            }
            Expectation::OnlyConflictsFail { except } => {
                for r in &results {
                    let kind = r.outcome.as_ref().and_then(failure_kind);
                    let excused = except.iter().any(|(from, to)| (*from..*to).contains(&r.sent_ms));
                    // An ALL write that a member refused (a conflict there) is committed by
                    // the quorum rule all the same, and its client told ALL fell short.
                    let all = r.txn.as_ref().is_some_and(|t| t.consistency == Consistency::All);
                    let conflict_like = |k: &str| k == "conflict" || (all && k == "unconfirmed");
                    if r.txn.is_some() && !excused && kind.is_some_and(|k| !conflict_like(k)) {
                        v.push(format!(
                            "write on node {} at {} ms failed without any fault: {:?}",
                            r.node, r.sent_ms, r.outcome
                        ));
                    }
                }
            }
            Expectation::CaughtUp { node, after } => {
                if !observed(c, *node, *after, |o| *o == Observation::CaughtUp) {
                    v.push(format!("node {node} never reported catching up after {after} ms"));
                }
            }
            Expectation::StorageErrorSeen(text) => {
                let seen = c
                    .observations_timed()
                    .iter()
                    .any(|(_, _, o)| matches!(o, Observation::StorageError(e) if e.contains(text)));
                if !seen {
                    v.push(format!("no node reported a storage error mentioning {text:?}"));
                }
            }
            Expectation::FailedOver { node, from, after } => {
                let left = |o: &Observation| matches!(o, Observation::ReplicaSource { from: Some(f), .. } if f == from);
                if !observed(c, *node, *after, left) {
                    v.push(format!("replica {node} never left its silent source {from} after {after} ms"));
                }
            }
            Expectation::SnapshotInstalled { node, after } => {
                if !observed(c, *node, *after, |o| matches!(o, Observation::SnapshotInstalled { .. })) {
                    v.push(format!("node {node} never installed a snapshot after {after} ms"));
                }
            }
            Expectation::LogCollected => {
                let seen = c.observations().iter().any(|(_, o)| matches!(o, Observation::LogTrimmed { .. }));
                if !seen {
                    v.push("no node garbage-collected any log entry; the scenario must exercise GC".into());
                }
            }
            Expectation::NoLogGap => {
                for (t, id, o) in c.observations_timed() {
                    if let Observation::LogGap { peer, database, after, first } = o {
                        v.push(format!(
                            "node {id} at {t} ms found {peer}'s log of {database} continuing at {first} after {after}: \
                             GC deleted entries a peer still needed"
                        ));
                    }
                }
            }
            Expectation::LogGapSeen { node, after } => {
                if !observed(c, *node, *after, |o| matches!(o, Observation::LogGap { .. })) {
                    v.push(format!("node {node} never detected a gap after {after} ms (forced GC did not reach it)"));
                }
            }
            Expectation::CountersMatchAcks { counters } => v.extend(check_counters(c, snaps, *counters)),
            // Checked by `check_chains`, which knows which writes the chains sent.
            Expectation::CausalChains(_) | Expectation::NothingInDoubtFrom { .. } => {}
            Expectation::IncarnationBumped { node, at_least } => {
                let inc = c.incarnations().get(node).copied().unwrap_or(0);
                if inc < *at_least {
                    v.push(format!("node {node} ended at incarnation {inc}, expected at least {at_least}"));
                }
            }
        }
    }
    v
}

/// Run one plan to the end. `Err` carries every violation found.
pub fn run_plan(plan: &Plan) -> Result<RunReport, String> {
    let mut c = SimCluster::new(plan.spec.clone())?;
    let mut faults = plan.faults.iter().peekable();
    let mut writes = plan.writes.iter().peekable();
    let mut pending = Pending::default();
    let mut chains: Vec<Chained> = plan
        .expectations
        .iter()
        .filter_map(|e| if let Expectation::CausalChains(cs) = e { Some(cs.clone()) } else { None })
        .flatten()
        .map(|chain| Chained { chain, first: None, second: None, retries: 0, retry_at: None })
        .collect();
    let mut last_replica_check = u64::MAX;
    // Safety phase.
    while c.elapsed_ms() < plan.safety_ms {
        let now = c.elapsed_ms();
        while let Some((_, f)) = faults.next_if(|(t, _)| *t <= now) {
            apply_fault(&mut c, f, &mut pending);
        }
        pending.tick(&mut c, plan.seed);
        while let Some((_, node, txn)) = writes.next_if(|(t, _, _)| *t <= now) {
            c.submit(*node, txn.clone());
        }
        drive_chains(&mut c, &mut chains);
        if !plan.spec.replicas.is_empty() && now.is_multiple_of(500) && now != last_replica_check {
            last_replica_check = now;
            for v in crate::checks::replicas_show_only_committed(&c) {
                c.note_violation(format!("at {now} ms: {v}"));
            }
        }
        c.step()?;
    }
    // Still in the fault phase: what must have been decided without a node that is away.
    for e in &plan.expectations {
        if let Expectation::NothingInDoubtFrom { coordinator } = e {
            for n in (1..=plan.spec.nodes).filter(|n| n != coordinator) {
                let left = crate::checks::undecided_of(&c, n, *coordinator);
                if !left.is_empty() {
                    c.note_violation(format!(
                        "node {n} still holds {} transactions of lost coordinator {coordinator} undecided at {} ms: {:?}",
                        left.len(),
                        c.elapsed_ms(),
                        &left[..left.len().min(3)]
                    ));
                }
            }
        }
    }
    // Liveness phase: heal everything and require convergence within the bound.
    c.heal();
    c.set_loss(0.0);
    for n in 1..=plan.spec.nodes {
        c.restart(n);
    }
    let deadline = c.elapsed_ms() + plan.liveness_ms;
    let converged_at = converge(&mut c, deadline)?;
    // Every node accepts a QUORUM write within 10 s of healing, plus the time the
    // transport may need to notice a connection that died under a one-way cut or a crash
    // (the HTTP/2 keepalive: 10 s of silence, then 3 s for the ping), and the cluster
    // converges again. A node still catching up answers "still joining … retry shortly",
    // and one whose link to a peer is still being replaced answers "not enough acks";
    // the probe retries both as a client would. A node that never succeeds fails the run.
    let probe = |n: NodeId| ClientTxn {
        database: "app".into(),
        statements: vec![format!("INSERT INTO kv (k, v, n) VALUES ({}, 'probe', {n})", 1_000_000 + n)],
        consistency: Consistency::Quorum,
        schema_change: false,
    };
    // (A sentinel takes no client writes: it serves no MySQL; a replica refuses them.)
    let takes_writes = |n: &NodeId| !plan.spec.sentinels.contains(n) && !plan.spec.replicas.contains(n);
    let mut probes: Vec<usize> = (1..=plan.spec.nodes).filter(takes_writes).map(|n| c.submit(n, probe(n))).collect();
    let probe_deadline = c.elapsed_ms() + 10_000 + keepalive_detection_ms();
    while c.elapsed_ms() < probe_deadline {
        let current: Vec<ClientResult> = probes.iter().filter_map(|i| c.result(*i)).collect();
        if current.iter().all(probe_settled) {
            break;
        }
        for (i, r) in probes.iter_mut().zip(&current) {
            let retry_due = r.answered_ms.is_some_and(|t| c.elapsed_ms() >= t + 100);
            if !probe_settled(r) && r.outcome.is_some() && retry_due {
                *i = c.submit(r.node, probe(r.node));
            }
        }
        c.step()?;
    }
    let mut v = Vec::new();
    for i in probes {
        let r = &c.results()[i];
        if !matches!(r.outcome, Some(ClientOutcome::Committed(_))) {
            v.push(format!("after healing, a QUORUM write on node {} ended {:?}", r.node, r.outcome));
        }
    }
    let deadline = c.elapsed_ms() + plan.liveness_ms;
    converge(&mut c, deadline)?;
    let snaps = snapshots(&c);
    v.extend(check_chains(&c, &chains));
    v.extend(check_final(&c, &snaps));
    v.extend(check_expectations(plan, &c, &snaps));
    if !v.is_empty() {
        return Err(v.join("\n  "));
    }
    let results = c.results();
    let committed = results.iter().filter(|r| matches!(r.outcome, Some(ClientOutcome::Committed(_)))).count();
    let mut failures = std::collections::BTreeMap::new();
    for kind in results.iter().filter_map(|r| r.outcome.as_ref().and_then(failure_kind)) {
        *failures.entry(kind).or_insert(0) += 1;
    }
    let failed = failures.values().sum();
    Ok(RunReport {
        seed: plan.seed,
        committed,
        failed,
        converged_at_ms: converged_at,
        trace_hash: c.trace_hash(),
        crash_hits: pending.hits,
        failures,
        hlc_ties: hlc_ties(&c.archived_txns()),
        chains_completed: chains.iter().filter(|ch| ch.committed(&c).1.is_some()).count(),
    })
}

/// A causal chain under way: the indices of its two client writes once sent.
struct Chained {
    chain: CausalChain,
    first: Option<usize>,
    second: Option<usize>,
    /// Deadlock errors the second write met and retried, and when to send it again.
    retries: u32,
    retry_at: Option<u64>,
}

impl Chained {
    /// The ids its writes committed as (the second only if both did).
    fn committed(&self, c: &SimCluster) -> (Option<TxnId>, Option<TxnId>) {
        let id = |i: Option<usize>| match i.and_then(|i| c.result(i)).and_then(|r| r.outcome) {
            Some(ClientOutcome::Committed(id)) => Some(id),
            _ => None,
        };
        let first = id(self.first);
        (first, first.and(id(self.second)))
    }
}

/// Send each chain's first write when due, and its second the moment the first is
/// acknowledged (as a client that saw its write and went on to another node); a chain
/// whose first write failed ends there. The second write is retried on a deadlock error,
/// as MySQL clients do: answered after one round trip, the first write's COMMIT may not
/// have reached the second node yet, which then still holds its intent.
fn drive_chains(c: &mut SimCluster, chains: &mut [Chained]) {
    const RETRIES: u32 = 20;
    let now = c.elapsed_ms();
    for ch in chains.iter_mut() {
        if ch.first.is_none() && now >= ch.chain.at {
            ch.first = Some(c.submit(ch.chain.first, ch.chain.write(1)));
        } else if ch.second.is_none() && ch.committed(c).0.is_some() {
            ch.second = Some(c.submit(ch.chain.second, ch.chain.write(2)));
        } else if let Some(second) = ch.second {
            let conflict = c
                .result(second)
                .is_some_and(|r| matches!(r.outcome, Some(ClientOutcome::Refused(WriteError::Conflict))));
            match ch.retry_at {
                None if conflict && ch.retries < RETRIES => ch.retry_at = Some(now + 10),
                Some(at) if now >= at => {
                    ch.retries += 1;
                    ch.retry_at = None;
                    ch.second = Some(c.submit(ch.chain.second, ch.chain.write(2)));
                }
                _ => {}
            }
        }
    }
}

/// Chains whose two writes both committed with the second ordered before the first: the
/// client's later write lost to what it had already seen.
fn check_chains(c: &SimCluster, chains: &[Chained]) -> Vec<String> {
    chains
        .iter()
        .filter_map(|ch| match ch.committed(c) {
            (Some(a), Some(b)) if b <= a => Some(format!(
                "causality: row {} written on node {} as {a}, then (after that was acknowledged) on node {} as {b}, \
                 ordered before it: the later write loses",
                ch.chain.key, ch.chain.first, ch.chain.second
            )),
            _ => None,
        })
        .collect()
}

/// How long the production link takes to notice a dead connection at its default
/// `[grpc_client]` keepalive (`keepalive_time_seconds` + `keepalive_timeout_seconds`).
fn keepalive_detection_ms() -> u64 {
    marmot_shell_sim::link_config(0).dead_link_detection().as_millis() as u64
}

/// Whether a post-heal probe has its final answer (a "still joining" refusal is retried).
fn probe_settled(r: &ClientResult) -> bool {
    r.outcome.as_ref().is_some_and(|o| !matches!(failure_kind(o), Some("joining" | "no_quorum")))
}

fn converge(c: &mut SimCluster, deadline: u64) -> Result<u64, String> {
    loop {
        let next_check = c.elapsed_ms() + 500;
        c.run_until(next_check)?;
        let snaps = snapshots(c);
        match divergence(&snaps) {
            None => return Ok(c.elapsed_ms()),
            Some(why) if c.elapsed_ms() >= deadline => {
                return Err(format!("did not converge by {} ms: {why}", deadline));
            }
            Some(_) => {}
        }
    }
}

/// Run one scenario with one seed.
pub fn run_one(scenario: Scenario, seed: u64) -> Result<RunReport, String> {
    let plan = Plan::draw(scenario, seed);
    run_plan(&plan).map_err(|e| failure_text(&plan, &e))
}

fn failure_text(plan: &Plan, err: &str) -> String {
    let opts: Vec<String> = plan.options.iter().map(|(k, v)| format!("    {k} = {v}")).collect();
    format!(
        "scenario {:?} failed with seed {}\n  options drawn from the seed:\n{}\n  violations:\n  {}\n  replay: SIM_SEED={} cargo test -p sim-scenarios {} -- --nocapture",
        plan.scenario,
        plan.seed,
        opts.join("\n"),
        err,
        plan.seed,
        plan.scenario.test_name()
    )
}

/// Seeds to run: `SIM_SEED` alone if set, else `SIM_SEEDS` (default `default_seeds`)
/// consecutive seeds from a fixed base (`SIM_SEED_BASE`, default 1).
pub fn seeds(default_seeds: u64) -> Vec<u64> {
    if let Some(s) = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()) {
        return vec![s];
    }
    let n = std::env::var("SIM_SEEDS").ok().and_then(|s| s.parse().ok()).unwrap_or(default_seeds);
    let base: u64 = std::env::var("SIM_SEED_BASE").ok().and_then(|s| s.parse().ok()).unwrap_or(1);
    (base..base + n).collect()
}

/// Run a scenario over its seeds; panic at the end naming every failing seed, each with
/// its replay command (a failure does not hide the seeds after it).
pub fn run_many(scenario: Scenario, default_seeds: u64) -> Vec<RunReport> {
    let started = Instant::now();
    let mut reports = Vec::new();
    let mut failures: Vec<(u64, String)> = Vec::new();
    for seed in seeds(default_seeds) {
        match run_one(scenario, seed) {
            Ok(r) => {
                eprintln!(
                    "{:?} seed {seed}: ok, {} committed, {} failed {:?}, converged at {} ms, crashes in {:?}",
                    scenario, r.committed, r.failed, r.failures, r.converged_at_ms, r.crash_hits
                );
                reports.push(r);
            }
            Err(e) => {
                eprintln!("{e}");
                failures.push((seed, e));
            }
        }
    }
    let secs = started.elapsed().as_secs_f64();
    let runs = reports.len() + failures.len();
    eprintln!(
        "{:?}: {} seeds in {:.1} s ({:.1} seeds/min), {} failed",
        scenario,
        runs,
        secs,
        runs as f64 * 60.0 / secs.max(0.001),
        failures.len()
    );
    if !failures.is_empty() {
        let seeds: Vec<String> = failures.iter().map(|(s, _)| s.to_string()).collect();
        let details: Vec<&str> = failures.iter().map(|(_, e)| e.as_str()).collect();
        panic!(
            "scenario {:?}: {} of {} seeds failed: {}\n\n{}",
            scenario,
            failures.len(),
            runs,
            seeds.join(", "),
            details.join("\n\n")
        );
    }
    reports
}
