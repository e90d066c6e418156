//! One test per scenario, each over many seeds (`SIM_SEEDS`, `SIM_SEED` to replay).

use sim_scenarios::plan::{Expectation, Fault};
use sim_scenarios::runner::run_plan;
use sim_scenarios::{run_many, run_one, CrashPhase, Plan, RunReport, Scenario};

const SEEDS: u64 = 14;

/// Over a run of many seeds (not a replay), each of `phases` was hit by some crash.
fn assert_every_phase_hit(reports: &[RunReport], phases: &[CrashPhase]) {
    if std::env::var("SIM_SEED").is_ok() {
        return;
    }
    for phase in phases {
        let hits = reports.iter().flat_map(|r| &r.crash_hits).filter(|p| *p == phase).count();
        assert!(hits > 0, "no seed crashed a node while {phase:?}; widen the scenario");
    }
}

#[test]
fn steady_state() {
    run_many(Scenario::SteadyState, SEEDS);
}

#[test]
fn partition() {
    run_many(Scenario::Partition, SEEDS);
}

#[test]
fn coordinator_crash() {
    let reports = run_many(Scenario::CoordinatorCrash, SEEDS);
    // Over its seeds the scenario must really crash a coordinator in each window.
    assert_every_phase_hit(&reports, &[CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit]);
}

#[test]
fn participant_crash() {
    let reports = run_many(Scenario::ParticipantCrash, SEEDS);
    // Over its seeds the scenario must really crash a participant in each phase.
    assert_every_phase_hit(
        &reports,
        &[CrashPhase::ParticipantVoting, CrashPhase::ParticipantVoted, CrashPhase::ParticipantCommitting],
    );
}

#[test]
fn same_rows() {
    let reports = run_many(Scenario::SameRows, SEEDS);
    // The same rows written from two nodes at once must really collide: a run where no
    // conflict is ever detected proves nothing about how they are resolved.
    let conflicts: usize = reports.iter().filter_map(|r| r.failures.get("conflict")).sum();
    let seeds_with = reports.iter().filter(|r| r.failures.get("conflict").is_some_and(|n| *n > 0)).count();
    assert!(
        seeds_with * 2 >= reports.len(),
        "conflicts in only {seeds_with} of {} seeds ({conflicts} in all); sharpen the scenario",
        reports.len()
    );
    // And equal HLC readings must really meet on a row, so the node-id tie-break is tested.
    if std::env::var("SIM_SEED").is_err() {
        let ties: usize = reports.iter().map(|r| r.hlc_ties).sum();
        assert!(ties > 0, "no two nodes wrote a row at equal HLC readings; sharpen the scenario");
        eprintln!("same_rows: {ties} equal-HLC pairs on a row, {conflicts} conflicts");
    }
}

#[test]
fn clock_skew() {
    let reports = run_many(Scenario::ClockSkew, SEEDS);
    // Causal chains (write on one node, then on another once acknowledged) must really
    // complete, or their order check proves nothing.
    let completed: usize = reports.iter().map(|r| r.chains_completed).sum();
    assert!(std::env::var("SIM_SEED").is_ok() || completed > 0, "no causal chain completed; sharpen the scenario");
    eprintln!("clock_skew: {completed} causal chains completed, each ordered after what its client saw");
}

#[test]
fn message_loss() {
    run_many(Scenario::MessageLoss, SEEDS);
}

#[test]
fn restart_catch_up() {
    run_many(Scenario::RestartCatchUp, SEEDS);
}

#[test]
fn removed_node() {
    run_many(Scenario::RemovedNode, SEEDS);
}

#[test]
fn swarm() {
    run_many(Scenario::Swarm, SEEDS * 2);
}

#[test]
fn new_node_joins() {
    run_many(Scenario::NewNodeJoins, SEEDS);
}

/// The same seed twice gives the same trace, bit for bit.
#[test]
fn determinism() {
    let seed = std::env::var("SIM_SEED").ok().and_then(|s| s.parse().ok()).unwrap_or(7);
    let a = run_one(Scenario::Swarm, seed).unwrap_or_else(|e| panic!("{e}"));
    let b = run_one(Scenario::Swarm, seed).unwrap_or_else(|e| panic!("{e}"));
    assert_eq!(
        a.trace_hash, b.trace_hash,
        "seed {seed} gave two different traces; replay: SIM_SEED={seed} cargo test -p sim-scenarios determinism -- --nocapture"
    );
}

/// A seed's trace does not depend on what ran before it in the process or beside it in
/// another thread, so a failing seed replayed alone repeats the suite's run. (Seed 49 of
/// steady_state, which crashes a node, once hashed otherwise after seed 46: tokio dropped
/// the crashed host's connections in an order drawn from process-wide task ids.)
#[test]
fn a_seed_replays_the_same_after_other_seeds_and_beside_them() {
    let run = |seeds: Vec<u64>| {
        std::thread::spawn(move || {
            let mut last = 0;
            for seed in seeds {
                last = run_one(Scenario::SteadyState, seed).unwrap_or_else(|e| panic!("{e}")).trace_hash;
            }
            last
        })
    };
    let alone = run(vec![49]).join().expect("alone");
    let (after_46, after_45) = (run(vec![46, 49]), run(vec![45, 47, 49]));
    let (after_46, after_45) = (after_46.join().expect("after 46"), after_45.join().expect("after 45, 47"));
    assert_eq!(
        (after_46, after_45),
        (alone, alone),
        "seed 49 alone, after 46, after 45 and 47 (the last two side by side)"
    );
}

#[test]
fn schema_changes() {
    run_many(Scenario::SchemaChanges, SEEDS);
}

#[test]
fn log_gc() {
    run_many(Scenario::LogGc, SEEDS);
}

#[test]
fn snapshot_catch_up() {
    run_many(Scenario::SnapshotCatchUp, SEEDS);
}

#[test]
fn lost_update() {
    run_many(Scenario::LostUpdate, SEEDS);
}

#[test]
fn sentinel() {
    run_many(Scenario::Sentinel, SEEDS);
}

#[test]
fn disk_loss() {
    let reports = run_many(Scenario::DiskLoss, SEEDS);
    // The coordinator whose disk is lost must go down inside each commit window.
    assert_every_phase_hit(&reports, &[CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit]);
}

#[test]
fn coordinator_lost() {
    let reports = run_many(Scenario::CoordinatorLost, SEEDS);
    // The coordinator must go down, for good, inside each commit window.
    assert_every_phase_hit(
        &reports,
        &[CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit, CrashPhase::Answered],
    );
}

/// The control: under Marmot's last-writer-wins the same scenario does lose increments,
/// so `lost_update` passing means the rule, not a workload too gentle to race.
#[test]
fn last_writer_wins_loses_updates_in_the_same_scenario() {
    if std::env::var("SIM_SEED").is_ok() {
        return;
    }
    let lost = (1..=16).any(|seed| {
        let mut plan = Plan::draw(Scenario::LostUpdate, seed);
        plan.spec.core.conflict_rule = marmot_core::ConflictRule::LastWriterWins;
        let r = run_plan(&plan);
        eprintln!(
            "seed {seed}: {:?}",
            r.as_ref().map(|r| r.committed).map_err(|e| e.lines().take(3).collect::<Vec<_>>())
        );
        matches!(r, Err(e) if e.contains("lost update"))
    });
    assert!(lost, "no seed lost an increment under last_writer_wins: the lost_update workload does not race");
}

/// The sentinel's control: in the `sentinel` scenario the two sides of each partition meet
/// only at the sentinel, so only its check of the read versions (first-committer-wins)
/// can refuse a stale increment. Without that rule (last-writer-wins) the same scenario
/// loses increments: `sentinel` passing means the sentinel's check works.
#[test]
fn a_sentinel_without_the_read_check_loses_updates_in_the_same_scenario() {
    if std::env::var("SIM_SEED").is_ok() {
        return;
    }
    let lost = (1..=16).any(|seed| {
        let mut plan = Plan::draw(Scenario::Sentinel, seed);
        plan.spec.core.conflict_rule = marmot_core::ConflictRule::LastWriterWins;
        matches!(run_plan(&plan), Err(e) if e.contains("lost update"))
    });
    assert!(lost, "no seed lost an increment under last_writer_wins: the sentinel workload does not race");
}

/// The snapshot checksum's control: the `snapshot_catch_up` plans, with chunks corrupted in
/// their table pages and the checksum left unchecked, must fail a data check in some seed
/// (a flipped byte that SQLite's own integrity check lets through changes a row or a
/// version). So the data checks see corruption, and `snapshot_catch_up` passing means the
/// checksum kept every corrupt image out.
#[test]
fn without_the_snapshot_checksum_corrupt_images_fail_the_data_checks() {
    if std::env::var("SIM_SEED").is_ok() {
        return;
    }
    let mut outcomes = Vec::new();
    let caught = (1..=16).any(|seed| {
        let mut plan = Plan::draw(Scenario::SnapshotCatchUp, seed);
        plan.spec.verify_snapshot_checksums = false;
        plan.faults.retain(|(_, f)| !matches!(f, Fault::CorruptSnapshotChunks(_)));
        plan.faults.insert(0, (0, Fault::CorruptSnapshotChunks(4)));
        plan.expectations.retain(|e| !matches!(e, Expectation::StorageErrorSeen(_)));
        let r = run_plan(&plan);
        let first = r
            .as_ref()
            .err()
            .and_then(|e| e.lines().find(|l| l.contains("differ") || l.contains("expected")).map(str::to_string));
        eprintln!("checksum off, seed {seed}: {first:?}");
        outcomes.push((seed, first));
        matches!(&r, Err(e) if e.contains("differ") || e.contains("expected"))
    });
    assert!(caught, "corrupt snapshots installed unchecked passed every data check: {outcomes:#?}");
}

#[test]
fn replica() {
    // Fewer seeds than the others: each run is long (a failover timeout, an isolation).
    run_many(Scenario::Replica, 10);
}
