//! Print the failed client transactions of one scenario run (a debugging aid).
//! `cargo run -p sim-scenarios --example failures -- steady_state 1`

use marmot_shell_sim::SimCluster;
use sim_scenarios::plan::{Plan, Scenario};

fn main() {
    let args: Vec<String> = std::env::args().collect();
    let scenario = match args.get(1).map(String::as_str) {
        Some("swarm") => Scenario::Swarm,
        Some("partition") => Scenario::Partition,
        Some("clock_skew") => Scenario::ClockSkew,
        _ => Scenario::SteadyState,
    };
    let seed: u64 = args.get(2).and_then(|s| s.parse().ok()).unwrap_or(1);
    let plan = Plan::draw(scenario, seed);
    let mut c = SimCluster::new(plan.spec.clone()).unwrap();
    let mut writes = plan.writes.iter().peekable();
    while c.elapsed_ms() < plan.safety_ms {
        let now = c.elapsed_ms();
        while let Some((_, node, txn)) = writes.next_if(|(t, _, _)| *t <= now) {
            c.submit(*node, txn.clone());
        }
        c.step().unwrap();
    }
    for r in c.results() {
        if let Some(o) = &r.outcome {
            if sim_scenarios::runner::failure_kind(o).is_some_and(|k| k != "conflict") {
                println!(
                    "node {} sent {} answered {:?} {:?}: {:?}",
                    r.node,
                    r.sent_ms,
                    r.answered_ms,
                    r.txn.as_ref().map(|t| t.consistency),
                    o
                );
            }
        }
    }
    for (t, n, o) in c.observations_timed() {
        if format!("{o:?}").contains("MemberChanged") && t < 20_000 {
            println!("{t} ms node {n}: {o:?}");
        }
    }
}
