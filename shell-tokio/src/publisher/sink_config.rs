//! One `[[publisher.sinks]]` entry, with the seed's defaults, and its checks.
//!
//! Kept beside the publisher rather than in `config.rs`: what a sink key means is decided
//! here, where it is used.

use serde::{Deserialize, Serialize};

/// One `[[publisher.sinks]]` entry.
#[derive(Clone, Debug, Deserialize, Serialize, PartialEq)]
#[serde(deny_unknown_fields, default)]
pub struct Sink {
    /// Unique name (its cursor is kept under it).
    pub name: String,
    /// "kafka" or "nats".
    #[serde(rename = "type")]
    pub kind: String,
    /// "debezium" (the only format).
    pub format: String,
    /// Kafka brokers (`host:port`).
    pub brokers: Vec<String>,
    /// NATS URL.
    pub nats_url: String,
    /// Topics are `{topic_prefix}.{database}.{table}`.
    pub topic_prefix: String,
    /// Table globs (empty = all).
    pub filter_tables: Vec<String>,
    /// Database globs (empty = all).
    pub filter_databases: Vec<String>,
    /// Log entries (transactions) read per poll.
    pub batch_size: u64,
    /// Pause between polls that found nothing new.
    pub poll_interval_ms: u64,
    /// First retry delay after a failed publish.
    pub retry_initial_ms: u64,
    /// Longest retry delay.
    pub retry_max_ms: u64,
    /// Growth of the retry delay per failure.
    pub retry_multiplier: f64,
}

impl Default for Sink {
    /// The seed's defaults.
    fn default() -> Self {
        Sink {
            name: String::new(),
            kind: String::new(),
            format: "debezium".into(),
            brokers: Vec::new(),
            nats_url: String::new(),
            topic_prefix: "marmot.cdc".into(),
            filter_tables: vec!["*".into()],
            filter_databases: vec!["*".into()],
            batch_size: 100,
            poll_interval_ms: 10,
            retry_initial_ms: 100,
            retry_max_ms: 30_000,
            retry_multiplier: 2.0,
        }
    }
}

/// Check the sinks of an enabled publisher; `Err((key, why))` names the first bad key.
pub fn check(sinks: &[Sink]) -> Result<(), (String, String)> {
    if sinks.is_empty() {
        return Err((
            "publisher.sinks".into(),
            "publisher.enabled = true needs at least one [[publisher.sinks]]".into(),
        ));
    }
    for (i, s) in sinks.iter().enumerate() {
        let key = |k: &str| format!("publisher.sinks[{i}].{k}");
        let bad = |k: &str, why: String| Err((key(k), why));
        if s.name.is_empty() {
            return bad("name", "every sink needs a name (its position in the change stream is kept under it)".into());
        }
        if sinks[..i].iter().any(|o| o.name == s.name) {
            return bad("name", format!("{:?} is used by another sink", s.name));
        }
        match s.kind.as_str() {
            "nats" if s.nats_url.is_empty() => return bad("nats_url", "a NATS sink needs nats_url".into()),
            "nats" => {}
            "kafka" if s.brokers.is_empty() => {
                return bad("brokers", "a Kafka sink needs brokers (\"host:port\", one at least)".into())
            }
            "kafka" => {
                if let Some((j, b)) = s.brokers.iter().enumerate().find(|(_, b)| !is_host_port(b)) {
                    return bad(&format!("brokers[{j}]"), format!("{b:?} is not \"host:port\""));
                }
            }
            other => return bad("type", format!("{other:?} is not \"kafka\" or \"nats\"")),
        }
        if s.format != "debezium" {
            return bad("format", format!("{:?} is not \"debezium\"", s.format));
        }
        if s.topic_prefix.is_empty() || !s.topic_prefix.chars().all(|c| c.is_ascii_alphanumeric() || "._-".contains(c))
        {
            return bad("topic_prefix", format!("{:?} must be letters, digits, '.', '_' or '-'", s.topic_prefix));
        }
        for (k, globs) in [("filter_tables", &s.filter_tables), ("filter_databases", &s.filter_databases)] {
            if let Err(e) = super::filter::globs(globs) {
                return bad(k, e);
            }
        }
        if s.batch_size == 0 {
            return bad("batch_size", "must be at least 1".into());
        }
        if s.retry_initial_ms == 0 || s.retry_max_ms < s.retry_initial_ms {
            return bad("retry_max_ms", "retry_initial_ms must be at least 1 and retry_max_ms at least that".into());
        }
        if !(s.retry_multiplier >= 1.0 && s.retry_multiplier.is_finite()) {
            return bad("retry_multiplier", format!("{} must be at least 1.0", s.retry_multiplier));
        }
    }
    Ok(())
}

/// Whether `s` is `host:port` with a numeric port.
fn is_host_port(s: &str) -> bool {
    s.rsplit_once(':').is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn nats() -> Sink {
        Sink { name: "n".into(), kind: "nats".into(), nats_url: "nats://127.0.0.1:4222".into(), ..Sink::default() }
    }

    fn kafka() -> Sink {
        Sink { name: "k".into(), kind: "kafka".into(), brokers: vec!["localhost:9092".into()], ..Sink::default() }
    }

    #[test]
    fn sinks_with_the_seeds_defaults_are_accepted() {
        assert_eq!(check(&[nats()]), Ok(()));
        assert_eq!(check(&[kafka()]), Ok(()));
    }

    #[test]
    fn each_bad_key_is_named() {
        let cases: Vec<(Sink, &str)> = vec![
            (Sink { name: String::new(), ..nats() }, "publisher.sinks[0].name"),
            (Sink { nats_url: String::new(), ..nats() }, "publisher.sinks[0].nats_url"),
            (Sink { kind: "kafka".into(), ..nats() }, "publisher.sinks[0].brokers"),
            (Sink { brokers: vec!["a:1".into(), "nohost".into()], ..kafka() }, "publisher.sinks[0].brokers[1]"),
            (Sink { kind: "redis".into(), ..nats() }, "publisher.sinks[0].type"),
            (Sink { format: "avro".into(), ..nats() }, "publisher.sinks[0].format"),
            (Sink { topic_prefix: "a b".into(), ..nats() }, "publisher.sinks[0].topic_prefix"),
            (Sink { filter_tables: vec!["[".into()], ..nats() }, "publisher.sinks[0].filter_tables"),
            (Sink { batch_size: 0, ..nats() }, "publisher.sinks[0].batch_size"),
            (Sink { retry_max_ms: 1, ..nats() }, "publisher.sinks[0].retry_max_ms"),
            (Sink { retry_multiplier: 0.5, ..nats() }, "publisher.sinks[0].retry_multiplier"),
        ];
        for (sink, key) in cases {
            assert_eq!(check(std::slice::from_ref(&sink)).unwrap_err().0, key, "{sink:?}");
        }
        assert_eq!(check(&[nats(), nats()]).unwrap_err().0, "publisher.sinks[1].name");
        assert_eq!(check(&[]).unwrap_err().0, "publisher.sinks");
    }
}
