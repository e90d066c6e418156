//! Put a delaying proxy in front of a node port, by hand:
//!
//! ```sh
//! cargo run -p marmot-e2e --bin delay-proxy -- --listen 9081 --target 8081 --delay-ms 10
//! ```
//! and give that node `[cluster] advertise_address = "127.0.0.1:9081"`: its peers then
//! reach it only through the proxy, paying 2 × the delay on every round trip. Stops on
//! Ctrl-C.

use clap::Parser;
use marmot_e2e::netproxy::DelayProxy;

/// A TCP proxy on loopback adding delay and jitter each way.
#[derive(Parser)]
struct Args {
    /// Port to listen on (127.0.0.1).
    #[arg(long)]
    listen: u16,
    /// Port to forward to (127.0.0.1).
    #[arg(long)]
    target: u16,
    /// One-way delay, ms.
    #[arg(long, default_value_t = 10)]
    delay_ms: u64,
    /// Extra delay drawn up to this, ms.
    #[arg(long, default_value_t = 0)]
    jitter_ms: u64,
    /// Seed of the jitter draws.
    #[arg(long, default_value_t = 1)]
    seed: u64,
}

fn main() {
    let a = Args::parse();
    let proxy = match DelayProxy::listen(("127.0.0.1", a.listen), a.target, a.delay_ms, a.jitter_ms, a.seed) {
        Ok(p) => p,
        Err(e) => {
            eprintln!("delay-proxy: cannot listen on 127.0.0.1:{}: {e}", a.listen);
            std::process::exit(1);
        }
    };
    println!(
        "127.0.0.1:{} -> 127.0.0.1:{}, {} ms (+ up to {} ms) each way",
        proxy.port, a.target, a.delay_ms, a.jitter_ms
    );
    loop {
        std::thread::park();
    }
}
