//! Every fuzz target, briefly: its seeds, then random mutations of them (bit flips,
//! byte changes, cuts, insertions, splices) for `FUZZ_SMOKE_SECONDS` (10; 60 in `--long`) each. Real
//! coverage-guided fuzzing runs with cargo fuzz (`tests/fuzz/README.md`); this keeps
//! every target building and its seeds passing in CI, and finds the shallow crashes.

use std::time::{Duration, Instant};

use marmot_fuzz_targets::{seeds, TARGETS};

/// xorshift64*: a fixed-seed PRNG, so a failure replays (the input is printed too).
struct Rng(u64);

impl Rng {
    fn next(&mut self) -> u64 {
        self.0 ^= self.0 >> 12;
        self.0 ^= self.0 << 25;
        self.0 ^= self.0 >> 27;
        self.0.wrapping_mul(0x2545_F491_4F6C_DD1D)
    }
    fn below(&mut self, n: usize) -> usize {
        (self.next() % n.max(1) as u64) as usize
    }
}

fn mutate(rng: &mut Rng, seeds: &[Vec<u8>]) -> Vec<u8> {
    let mut d = seeds[rng.below(seeds.len())].clone();
    for _ in 0..1 + rng.below(8) {
        let at = rng.below(d.len() + 1);
        let last = d.len().saturating_sub(1);
        match rng.below(6) {
            0 if !d.is_empty() => d[at.min(last)] ^= 1 << rng.below(8),
            1 if !d.is_empty() => d[at.min(last)] = [0, 0xff, 0x7f, 0x80, b'\'', b'\\', b'?'][rng.below(7)],
            2 => d.truncate(at),
            3 => {
                let n = rng.below(16);
                let bytes: Vec<u8> = (0..n).map(|_| rng.next() as u8).collect();
                d.splice(at..at, bytes);
            }
            4 => {
                let other = &seeds[rng.below(seeds.len())];
                let from = rng.below(other.len());
                let to = (from + rng.below(64)).min(other.len());
                d.splice(at..at, other[from..to].iter().copied());
            }
            _ if at < d.len() => {
                let to = (at + rng.below(32)).min(d.len());
                d.drain(at..to);
            }
            _ => {}
        }
    }
    d
}

fn smoke(name: &str) {
    let (_, body) = TARGETS.iter().find(|(n, _)| *n == name).expect("target");
    let seeds = seeds::of(name);
    assert!(!seeds.is_empty(), "{name} has no seeds");
    for s in &seeds {
        body(s);
    }
    let secs = std::env::var("FUZZ_SMOKE_SECONDS").ok().and_then(|s| s.parse().ok()).unwrap_or(10);
    let until = Instant::now() + Duration::from_secs(secs);
    let mut rng = Rng(0x6d61_726d_6f74 ^ name.len() as u64);
    let mut runs = 0u64;
    while Instant::now() < until {
        let input = mutate(&mut rng, &seeds);
        let caught = std::panic::catch_unwind(|| body(&input));
        if let Err(e) = caught {
            panic!(
                "{name} failed on input {:02x?}: {:?}; add it to the seeds and debug with cargo fuzz (tests/fuzz/README.md)",
                input,
                e.downcast_ref::<String>().map(String::as_str).or(e.downcast_ref::<&str>().copied())
            );
        }
        runs += 1;
    }
    eprintln!("{name}: {} seeds, {runs} mutated inputs", seeds.len());
}

#[test]
fn mysql_connection() {
    smoke("mysql_connection");
}

#[test]
fn stmt_execute_params() {
    smoke("stmt_execute_params");
}

#[test]
fn sql_translation() {
    smoke("sql_translation");
}

#[test]
fn load_data() {
    smoke("load_data");
}

#[test]
fn config_toml() {
    smoke("config_toml");
}

#[test]
fn peer_message() {
    smoke("peer_message");
}

#[test]
fn snapshot_install() {
    smoke("snapshot_install");
}
