//! Write every target's seeds to `<dir>/<target>/seed-<n>` (cargo fuzz's corpus layout).

fn main() {
    let dir = std::env::args().nth(1).unwrap_or_else(|| "tests/fuzz/corpus".into());
    for (name, _) in marmot_fuzz_targets::TARGETS {
        let d = std::path::Path::new(&dir).join(name);
        std::fs::create_dir_all(&d).expect("corpus directory");
        for (i, s) in marmot_fuzz_targets::seeds::of(name).iter().enumerate() {
            std::fs::write(d.join(format!("seed-{i}")), s).expect("seed file");
        }
    }
}
