//! One test per scenario, each over many seeds (`SIM_SEEDS`, `SIM_SEED` to replay).

use sim_scenarios::{run_many, run_one, CrashPhase, Scenario};

const SEEDS: u64 = 16;

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
    if std::env::var("SIM_SEED").is_err() {
        // Over its seeds the scenario must really crash a coordinator in each window.
        for phase in [CrashPhase::Preparing, CrashPhase::Deciding, CrashPhase::PartialCommit] {
            let hits = reports.iter().flat_map(|r| &r.crash_hits).filter(|p| **p == phase).count();
            assert!(hits > 0, "no seed crashed a coordinator while {phase:?}; widen the scenario");
        }
    }
}

#[test]
fn participant_crash() {
    run_many(Scenario::ParticipantCrash, SEEDS);
}

#[test]
fn same_rows() {
    run_many(Scenario::SameRows, SEEDS);
}

#[test]
fn clock_skew() {
    run_many(Scenario::ClockSkew, SEEDS);
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
