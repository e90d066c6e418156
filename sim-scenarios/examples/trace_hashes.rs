//! Print the trace hash of every scenario over seeds `1..=N` (default 200), one line per
//! run: the oracle for refactors, which must leave every trace bit for bit as it was.
//!
//! ```sh
//! cargo run --release -p sim-scenarios --example trace_hashes -- 200 > before.txt
//! # … refactor …
//! cargo run --release -p sim-scenarios --example trace_hashes -- 200 | diff before.txt -
//! ```
//! A run that fails prints its first line of failure instead of a hash, so a refactor that
//! turns a pass into a failure (or back) shows in the diff too. `SIM_SCENARIO=name` limits
//! the runs to one scenario (its test name); `SIM_THREADS` (default: the machine's cores)
//! runs that many worker processes at once (the output order is fixed).

use sim_scenarios::{run_one, Scenario};

fn main() {
    let seeds: u64 = std::env::args().nth(1).map_or(200, |s| s.parse().expect("the number of seeds"));
    let only = std::env::var("SIM_SCENARIO").ok();
    let threads: u64 = std::env::var("SIM_THREADS")
        .ok()
        .and_then(|t| t.parse().ok())
        .unwrap_or_else(|| std::thread::available_parallelism().map_or(1, |n| n.get() as u64));
    if let Some(part) = std::env::var("TRACE_HASHES_PART").ok().and_then(|p| p.parse::<u64>().ok()) {
        // A worker: one scenario, its share of the seeds, one after another.
        let scenario = Scenario::ALL.into_iter().find(|s| only.as_deref() == Some(s.test_name())).expect("scenario");
        for seed in (1..=seeds).filter(|s| s % threads == part) {
            println!("{seed} {}", outcome(scenario, seed));
        }
        return;
    }
    // Workers are processes: a seed's trace no longer depends on what else ran in its
    // process (see shell-sim's sockets.rs), but a process per worker keeps it so by
    // construction.
    let me = std::env::current_exe().expect("this program's path");
    for scenario in Scenario::ALL.into_iter().filter(|s| only.as_deref().is_none_or(|o| o == s.test_name())) {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                std::process::Command::new(&me)
                    .arg(seeds.to_string())
                    .env("SIM_SCENARIO", scenario.test_name())
                    .env("SIM_THREADS", threads.to_string())
                    .env("TRACE_HASHES_PART", t.to_string())
                    .stderr(std::process::Stdio::null())
                    .stdout(std::process::Stdio::piped())
                    .spawn()
                    .expect("start a worker")
            })
            .collect();
        let mut lines: Vec<(u64, String)> = Vec::new();
        for w in workers {
            let out = w.wait_with_output().expect("a worker");
            assert!(out.status.success(), "a worker failed");
            for line in String::from_utf8_lossy(&out.stdout).lines() {
                let (seed, outcome) = line.split_once(' ').expect("seed and outcome");
                lines.push((seed.parse().expect("seed"), outcome.to_string()));
            }
        }
        lines.sort();
        for (seed, outcome) in lines {
            println!("{} {seed} {outcome}", scenario.test_name());
        }
    }
}

fn outcome(scenario: Scenario, seed: u64) -> String {
    match run_one(scenario, seed) {
        Ok(r) => format!("{:016x}", r.trace_hash),
        // The first violation: what failed, so that a diff shows a change of failure too.
        Err(e) => {
            let first = e.lines().skip_while(|l| !l.contains("violations:")).nth(1).unwrap_or("").trim();
            format!("FAILED {first}")
        }
    }
}
