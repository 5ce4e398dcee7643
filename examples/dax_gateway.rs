//! Runs the local DAX gateway standalone.
//!
//! ```sh
//! AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//!   cargo run --features gateway --example dax_gateway -- \
//!     --backend http://127.0.0.1:8000 --region us-east-1 --listen 127.0.0.1:8111 --nodes 2 [--tls]
//! ```
//!
//! The first line of stdout is `listening on dax://HOST:PORT` (or `daxs://`); with `--tls`
//! the second names the test CA (`ca pem PATH`). The backend's credentials come from the
//! standard AWS environment variables. Runs until killed (Ctrl-C), or until stdin closes with
//! `--stdin-close` (handy for a parent process).
#![allow(clippy::disallowed_methods)]

use std::io::Write;
use std::net::SocketAddr;

use aws_config::{BehaviorVersion, Region};
use cross_account_dynamodb::{AuthVerifier, DaxGateway, TlsConfig};

const USAGE: &str = "usage: dax_gateway [--listen ADDR] [--allow-remote] [--backend URL] \
[--region REGION] [--nodes N] [--tls] [--tls-name NAME] [--stdin-close]";

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    allow_remote: bool,
    backend: Option<String>,
    region: Option<String>,
    nodes: usize,
    tls: bool,
    tls_name: String,
    stdin_close: bool,
}

fn parse() -> Result<Args, String> {
    let mut a = Args {
        listen: "127.0.0.1:0".parse().expect("valid default"),
        allow_remote: false,
        backend: None,
        region: None,
        nodes: 1,
        tls: false,
        tls_name: "localhost".into(),
        stdin_close: false,
    };
    let mut it = std::env::args().skip(1);
    while let Some(arg) = it.next() {
        let mut value = |name: &str| it.next().ok_or(format!("{name} needs a value"));
        match arg.as_str() {
            "--listen" => {
                let v = value("--listen")?;
                a.listen = v
                    .parse()
                    .map_err(|e| format!("--listen {v:?}: {e} (want IP:PORT)"))?;
            }
            "--allow-remote" => a.allow_remote = true,
            "--backend" => a.backend = Some(value("--backend")?),
            "--region" => a.region = Some(value("--region")?),
            "--nodes" => {
                let v = value("--nodes")?;
                a.nodes = v.parse().map_err(|e| format!("--nodes {v:?}: {e}"))?;
            }
            "--tls" => a.tls = true,
            "--tls-name" => a.tls_name = value("--tls-name")?,
            "--stdin-close" => a.stdin_close = true,
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    Ok(a)
}

#[tokio::main]
async fn main() {
    let args = match parse() {
        Ok(a) => a,
        Err(msg) => {
            eprintln!("{msg}");
            std::process::exit(2);
        }
    };
    if let Err(e) = run(args).await {
        // the error and its causes, one per line
        let mut msg = format!("dax_gateway: {e}");
        let mut source = e.source();
        while let Some(s) = source {
            msg.push_str(&format!("\n  caused by: {s}"));
            source = s.source();
        }
        eprintln!("{msg}");
        std::process::exit(1);
    }
}

async fn run(args: Args) -> Result<(), Box<dyn std::error::Error>> {
    let mut loader = aws_config::defaults(BehaviorVersion::latest());
    if let Some(url) = &args.backend {
        loader = loader.endpoint_url(url);
    }
    if let Some(region) = &args.region {
        loader = loader.region(Region::new(region.clone()));
    }
    let backend = loader.load().await;
    let mut builder = DaxGateway::builder()
        .backend(&backend)
        .nodes(args.nodes)
        .auth(AuthVerifier::AcceptAll)
        .listen(args.listen)
        .allow_remote(args.allow_remote);
    if args.tls {
        builder = builder.tls(TlsConfig::self_signed(args.tls_name.clone()));
    }
    let gw = builder.start().await?;
    let mut out = std::io::stdout().lock();
    writeln!(out, "listening on {}", gw.endpoint())?;
    if let Some(ca) = gw.ca_pem_path() {
        writeln!(out, "ca pem {}", ca.display())?;
    }
    for i in 0..args.nodes {
        if let Some(addr) = gw.node_addr(i) {
            writeln!(out, "node {i} {addr}")?;
        }
    }
    out.flush()?;
    drop(out);
    if args.stdin_close {
        tokio::task::spawn_blocking(|| {
            let mut sink = Vec::new();
            let _ = std::io::Read::read_to_end(&mut std::io::stdin(), &mut sink);
        })
        .await?;
    } else {
        // Ctrl-C (SIGINT) ends the process; nothing to clean up but sockets.
        std::future::pending::<()>().await;
    }
    gw.shutdown().await;
    Ok(())
}
