//! # sim-scenarios
//!
//! Scenarios = a fault schedule + a seeded workload + invariants, each run over many
//! seeds. A run has a safety phase (faults and writes), then a liveness phase (heal
//! every link, restart every node, stop loss) that must converge within a bound, then
//! the final invariant checks against every node's store.
//!
//! `SIM_SEEDS=N` runs N seeds per scenario; `SIM_SEED=S` replays one. A failure prints
//! the scenario, the seed, every option drawn from it, and the replay command.

pub mod checks;
pub mod plan;
pub mod runner;
pub mod scenario;
pub mod schedule;
pub mod workload;

pub use plan::{CausalChain, CrashPhase, Fault, Plan, Scenario};
pub use runner::{run_many, run_one, RunReport};
