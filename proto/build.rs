//! Compile `proto/marmot.proto` with protox (pure Rust: no `protoc` on the build machine).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/marmot.proto");
    let fds = protox::compile(["proto/marmot.proto"], ["proto"])?;
    // Maps as BTreeMap: a HashMap encodes its entries in an order drawn per process, so
    // the same message had different bytes from run to run (and the simulator's traces
    // with it).
    tonic_prost_build::configure().btree_map(".").compile_fds(fds)?;
    Ok(())
}
