//! The core must stay sans-I/O: no runtime, network, database or MySQL crate may reach
//! it, directly or transitively. Reads the workspace's Cargo.lock.

use std::collections::{BTreeMap, BTreeSet};

const FORBIDDEN: &[&str] = &[
    "tokio",
    "tonic",
    "hyper",
    "mio",
    "socket2",
    "rusqlite",
    "libsqlite3-sys",
    "opensrv-mysql",
    "turmoil",
    "axum",
    "reqwest",
    "async-std",
    "smol",
];

/// package name -> dependency names, from Cargo.lock.
fn lock_graph() -> BTreeMap<String, Vec<String>> {
    let lock = std::fs::read_to_string(concat!(env!("CARGO_MANIFEST_DIR"), "/../Cargo.lock")).expect("Cargo.lock");
    let mut graph = BTreeMap::new();
    for block in lock.split("[[package]]").skip(1) {
        let name = block
            .lines()
            .find_map(|l| l.strip_prefix("name = \""))
            .map(|s| s.trim_end_matches('"').to_string())
            .expect("package name");
        let mut deps = Vec::new();
        if let Some(start) = block.find("dependencies = [") {
            for l in block[start..].lines().skip(1) {
                if l.starts_with(']') {
                    break;
                }
                let d = l.trim().trim_matches(|c| c == '"' || c == ',');
                deps.push(d.split(' ').next().unwrap_or(d).to_string());
            }
        }
        graph.entry(name).or_insert_with(Vec::new).extend(deps);
    }
    graph
}

#[test]
fn core_depends_on_no_io_crate() {
    let graph = lock_graph();
    let mut seen = BTreeSet::new();
    let mut stack = vec!["marmot-core".to_string()];
    while let Some(p) = stack.pop() {
        if !seen.insert(p.clone()) {
            continue;
        }
        stack.extend(graph.get(&p).cloned().unwrap_or_default());
    }
    let bad: Vec<&&str> = FORBIDDEN.iter().filter(|f| seen.contains(**f)).collect();
    assert!(bad.is_empty(), "marmot-core reaches I/O crates {bad:?}; the core must stay sans-I/O");
    assert!(seen.contains("rand_chacha"), "the lock parse found the core's real dependencies");
}

#[test]
fn core_sources_read_no_clock_and_spawn_no_thread() {
    let mut dirs = vec![std::path::PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/src"))];
    let mut files = 0;
    while let Some(dir) = dirs.pop() {
        for entry in std::fs::read_dir(dir).expect("src") {
            let path = entry.expect("entry").path();
            if path.is_dir() {
                dirs.push(path);
                continue;
            }
            files += 1;
            let text = std::fs::read_to_string(&path).expect("source");
            for needle in
                ["SystemTime::now", "Instant::now", "thread_rng", "std::thread", "HashMap", "HashSet", "tokio"]
            {
                assert!(!text.contains(needle), "{} mentions {needle}", path.display());
            }
        }
    }
    assert!(files > 15, "the walk found the core's sources ({files} files)");
}
