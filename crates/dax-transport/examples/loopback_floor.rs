//! The machine's floor for a DAX round trip at one in flight: a bare tokio echo (40 bytes, the
//! size of a GetItem request) between two processes over loopback, with no protocol, codec or
//! SDK. Setup as in `scripts/bench/dax-clients.sh`: the server on a 2-worker runtime (as
//! `dax-local`), the client on a 1-worker runtime (as `getitem_load`). Prints one line:
//! round trips and their p50 / p99 / p99.9.
//!
//! ```sh
//! cargo run --release -p xacct-dax-transport --example loopback_floor [-- --seconds 6]
//! ```
#![allow(clippy::print_stdout, clippy::disallowed_methods)]

use std::io::{BufRead, Read};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const MESSAGE: usize = 40;

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let args: Vec<String> = std::env::args().skip(1).collect();
    if args.first().map(String::as_str) == Some("--serve") {
        return runtime(2)?.block_on(serve());
    }
    let seconds = match args.as_slice() {
        [] => 6.0,
        [flag, value] if flag == "--seconds" => value.parse::<f64>()?,
        _ => return Err("usage: loopback_floor [--seconds S]".into()),
    };
    // The server in a process of its own; it exits when its stdin closes (with this one).
    let mut server = Command::new(std::env::current_exe()?)
        .arg("--serve")
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()?;
    let stdout = server.stdout.take().ok_or("no server stdout")?;
    let mut addr = String::new();
    std::io::BufReader::new(stdout).read_line(&mut addr)?;
    let result = runtime(1)?.block_on(measure(addr.trim(), seconds));
    drop(server.stdin.take());
    server.wait()?;
    let (n, p50, p99, p999) = result?;
    println!("loopback echo, {MESSAGE} B, 1 in flight: {n} round trips, p50 {p50:.1} µs, p99 {p99:.1} µs, p99.9 {p999:.1} µs");
    Ok(())
}

fn runtime(workers: usize) -> std::io::Result<tokio::runtime::Runtime> {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(workers)
        .enable_all()
        .build()
}

/// Echoes on an ephemeral loopback port (printed first), until stdin closes.
async fn serve() -> Result<(), Box<dyn std::error::Error>> {
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    println!("{}", listener.local_addr()?);
    std::thread::spawn(|| {
        let _ = std::io::stdin().read_to_end(&mut Vec::new());
        std::process::exit(0);
    });
    while let Ok((mut s, _)) = listener.accept().await {
        let _ = s.set_nodelay(true);
        tokio::spawn(async move {
            let mut buf = [0u8; 256];
            while let Ok(n @ 1..) = s.read(&mut buf).await {
                if s.write_all(&buf[..n]).await.is_err() {
                    return;
                }
            }
        });
    }
    Ok(())
}

/// Round trips for `seconds` after one second of warm-up: count, p50, p99, p99.9 in µs.
async fn measure(
    addr: &str,
    seconds: f64,
) -> Result<(usize, f64, f64, f64), Box<dyn std::error::Error>> {
    let mut s = TcpStream::connect(addr).await?;
    s.set_nodelay(true)?;
    let (mut buf, message) = ([0u8; 256], [1u8; MESSAGE]);
    let mut latencies = Vec::with_capacity(1 << 20);
    let start = Instant::now();
    let warm = Duration::from_secs(1);
    let end = warm + Duration::from_secs_f64(seconds);
    while start.elapsed() < end {
        let t = Instant::now();
        s.write_all(&message).await?;
        let mut got = 0;
        while got < MESSAGE {
            match s.read(&mut buf).await? {
                0 => return Err("the server closed the connection".into()),
                n => got += n,
            }
        }
        if start.elapsed() >= warm {
            latencies.push(t.elapsed().as_nanos() as u64);
        }
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q) as usize] as f64 / 1000.0;
    Ok((latencies.len(), at(0.5), at(0.99), at(0.999)))
}
