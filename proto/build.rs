//! Compile `proto/marmot.proto` with protox (pure Rust: no `protoc` on the build machine).

fn main() -> Result<(), Box<dyn std::error::Error>> {
    println!("cargo:rerun-if-changed=proto/marmot.proto");
    let fds = protox::compile(["proto/marmot.proto"], ["proto"])?;
    tonic_prost_build::configure().compile_fds(fds)?;
    Ok(())
}
