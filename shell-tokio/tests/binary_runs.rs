//! The `marmot` binary runs and describes itself. (Being an integration test of this
//! package also makes `cargo test --workspace` build `target/debug/marmot` with the suite's
//! features, which the end-to-end tests then start without a build of their own.)

use std::process::Command;

#[test]
fn the_binary_prints_its_version_and_usage() {
    let bin = env!("CARGO_BIN_EXE_marmot");
    let version = Command::new(bin).arg("--version").output().expect("run marmot --version");
    assert!(version.status.success(), "{version:?}");
    let text = String::from_utf8_lossy(&version.stdout);
    assert!(text.contains(env!("CARGO_PKG_VERSION")), "{text}");
    let help = Command::new(bin).arg("--help").output().expect("run marmot --help");
    assert!(help.status.success(), "{help:?}");
    let text = String::from_utf8_lossy(&help.stdout);
    assert!(text.contains("--config") && text.contains("--follow-addresses"), "{text}");
}
