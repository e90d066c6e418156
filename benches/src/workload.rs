//! Options, operation mix and report of the `workload` driver (the seed's benchmark).

/// Command-line options.
#[derive(Clone, Debug, PartialEq)]
pub struct Args {
    /// MySQL endpoints `host:port`; transactions go to them round robin.
    pub endpoints: Vec<String>,
    /// Rows of the load phase.
    pub rows: u64,
    /// Seconds of the mixed phase.
    pub duration: f64,
    /// Concurrent workers.
    pub threads: usize,
    /// Operations per transaction.
    pub batch: usize,
    /// `read=20,update=30,insert=35,delete=5,upsert=10`.
    pub mix: String,
    /// `SET marmot_write_consistency` on every connection (marmot only).
    pub consistency: Option<String>,
    /// Database holding the `benchmarks` table.
    pub database: String,
    /// Phases to run: `load`, `mixed`.
    pub phases: Vec<String>,
    /// Compare every endpoint's rows at the end.
    pub verify: bool,
    /// Also write the results here as JSON.
    pub json: Option<String>,
}

impl Default for Args {
    fn default() -> Self {
        Args {
            endpoints: vec!["127.0.0.1:3306".into()],
            rows: 200_000,
            duration: 120.0,
            threads: 16,
            batch: 10,
            mix: "read=20,update=30,insert=35,delete=5,upsert=10".into(),
            consistency: None,
            database: "marmot".into(),
            phases: vec!["load".into(), "mixed".into()],
            verify: true,
            json: None,
        }
    }
}

impl Args {
    /// Usage text.
    pub const USAGE: &'static str = "usage: workload [--endpoints H:P,H:P,...] [--rows N] [--duration SECONDS] \
[--threads N] [--batch N] [--mix read=20,update=30,insert=35,delete=5,upsert=10] [--consistency ONE|QUORUM|ALL] \
[--database NAME] [--phases load,mixed] [--no-verify] [--json PATH]";

    /// Parse `--flag value` pairs.
    pub fn parse(mut it: impl Iterator<Item = String>) -> Result<Args, String> {
        let mut a = Args::default();
        while let Some(flag) = it.next() {
            if flag == "--no-verify" {
                a.verify = false;
                continue;
            }
            let mut value = || it.next().ok_or_else(|| format!("{flag} needs a value"));
            let num = |v: String| v.parse::<u64>().map_err(|_| format!("{flag}: {v:?} is not a whole number"));
            match flag.as_str() {
                "--endpoints" => a.endpoints = value()?.split(',').map(str::to_string).collect(),
                "--rows" => a.rows = num(value()?)?,
                "--duration" => {
                    let v = value()?;
                    a.duration = v.parse().map_err(|_| format!("--duration: {v:?} is not a number of seconds"))?;
                }
                "--threads" => a.threads = num(value()?)?.max(1) as usize,
                "--batch" => a.batch = num(value()?)?.max(1) as usize,
                "--mix" => a.mix = value()?,
                "--consistency" => a.consistency = Some(value()?.to_ascii_uppercase()),
                "--database" => a.database = value()?,
                "--phases" => a.phases = value()?.split(',').map(str::to_string).collect(),
                "--json" => a.json = Some(value()?),
                other => return Err(format!("unknown option {other}")),
            }
        }
        if a.endpoints.iter().any(|e| e.is_empty()) {
            return Err("--endpoints: empty endpoint".into());
        }
        if let Some(p) = a.phases.iter().find(|p| !matches!(p.as_str(), "load" | "mixed")) {
            return Err(format!("--phases: unknown phase {p:?} (load, mixed)"));
        }
        Ok(a)
    }
}

/// One operation of the mixed phase.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Op {
    /// Point select by id.
    Read,
    /// One field by id.
    Update,
    /// A new key.
    Insert,
    /// By id.
    Delete,
    /// `INSERT … ON DUPLICATE KEY UPDATE` on an existing id.
    Upsert,
}

/// Percentages of each operation (summing to 100).
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Mix([(Op, u32); 5]);

impl Mix {
    /// Parse `read=20,update=30,insert=35,delete=5,upsert=10` (missing ones are 0).
    pub fn parse(s: &str) -> Result<Mix, String> {
        let mut m = [(Op::Read, 0), (Op::Update, 0), (Op::Insert, 0), (Op::Delete, 0), (Op::Upsert, 0)];
        for part in s.split(',').filter(|p| !p.is_empty()) {
            let (name, pct) = part.split_once('=').ok_or_else(|| format!("{part:?} is not name=percent"))?;
            let pct: u32 = pct.trim().parse().map_err(|_| format!("{part:?}: percent is not a number"))?;
            let i = ["read", "update", "insert", "delete", "upsert"]
                .iter()
                .position(|n| *n == name.trim())
                .ok_or_else(|| format!("unknown operation {name:?}"))?;
            m[i].1 = pct;
        }
        let total: u32 = m.iter().map(|x| x.1).sum();
        if total != 100 {
            return Err(format!("percentages sum to {total}, not 100"));
        }
        Ok(Mix(m))
    }

    /// The operation for a uniform draw in 0..100.
    pub fn draw(&self, roll: u32) -> Op {
        let mut acc = 0;
        for (op, pct) in self.0 {
            acc += pct;
            if roll < acc {
                return op;
            }
        }
        self.0[4].0
    }
}

/// What one phase measured.
#[derive(Clone, Debug, PartialEq)]
pub struct Report {
    /// `load` or `mixed`.
    pub phase: String,
    /// Wall time.
    pub seconds: f64,
    /// Statements per second (committed transactions only).
    pub ops_per_sec: f64,
    /// Committed transactions per second.
    pub tx_per_sec: f64,
    /// Committed transactions.
    pub transactions: u64,
    /// Transactions that failed (not counting retried conflicts that then committed).
    pub errors: u64,
    /// Conflict retries (1213/1205).
    pub retries: u64,
    /// Transaction latency percentiles, ms.
    pub p50_ms: f64,
    /// 90th.
    pub p90_ms: f64,
    /// 95th.
    pub p95_ms: f64,
    /// 99th.
    pub p99_ms: f64,
    /// The first few errors.
    pub first_errors: Vec<String>,
    /// Transactions moved to another endpoint because theirs went away.
    pub failovers: u64,
    /// The longest time between two successive commits (any worker), ms.
    pub longest_pause_ms: f64,
}

impl Report {
    /// Human-readable summary.
    pub fn text(&self) -> String {
        let mut s = format!(
            "{}: {:.0} ops/s, {:.0} tx/s ({} transactions in {:.1} s), errors {}, retries {}, \
             transaction latency P50 {:.1} ms, P90 {:.1} ms, P95 {:.1} ms, P99 {:.1} ms, \
             longest pause between commits {:.0} ms, failovers {}",
            self.phase,
            self.ops_per_sec,
            self.tx_per_sec,
            self.transactions,
            self.seconds,
            self.errors,
            self.retries,
            self.p50_ms,
            self.p90_ms,
            self.p95_ms,
            self.p99_ms,
            self.longest_pause_ms,
            self.failovers
        );
        for e in &self.first_errors {
            s.push_str(&format!("\n  error: {e}"));
        }
        s
    }

    /// As JSON.
    pub fn json(&self) -> serde_json::Value {
        serde_json::json!({
            "phase": self.phase,
            "seconds": self.seconds,
            "ops_per_sec": self.ops_per_sec,
            "tx_per_sec": self.tx_per_sec,
            "transactions": self.transactions,
            "errors": self.errors,
            "retries": self.retries,
            "latency_ms": {"p50": self.p50_ms, "p90": self.p90_ms, "p95": self.p95_ms, "p99": self.p99_ms},
            "latency_of": "transaction",
            "first_errors": self.first_errors,
            "failovers": self.failovers,
            "longest_pause_ms": self.longest_pause_ms,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(s: &str) -> Result<Args, String> {
        Args::parse(s.split_whitespace().map(str::to_string))
    }

    #[test]
    fn options_parse_and_bad_ones_are_named() {
        let a =
            args("--endpoints a:1,b:2 --rows 10 --duration 2.5 --threads 4 --consistency quorum --no-verify").unwrap();
        assert_eq!(a.endpoints, ["a:1", "b:2"]);
        assert_eq!((a.rows, a.duration, a.threads, a.verify), (10, 2.5, 4, false));
        assert_eq!(a.consistency.as_deref(), Some("QUORUM"));
        assert!(args("--rows many").unwrap_err().contains("--rows"));
        assert!(args("--bogus 1").unwrap_err().contains("--bogus"));
        assert!(args("--phases load,warmup").unwrap_err().contains("warmup"));
        assert!(args("--rows").unwrap_err().contains("needs a value"));
    }

    #[test]
    fn the_mix_draws_each_operation_in_proportion() {
        let m = Mix::parse(&Args::default().mix).unwrap();
        let count = |op| (0..100).filter(|r| m.draw(*r) == op).count();
        assert_eq!(
            [count(Op::Read), count(Op::Update), count(Op::Insert), count(Op::Delete), count(Op::Upsert)],
            [20, 30, 35, 5, 10]
        );
        assert!(Mix::parse("read=50").unwrap_err().contains("sum to 50"));
        assert!(Mix::parse("scan=100").unwrap_err().contains("scan"));
    }
}
