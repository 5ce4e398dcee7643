//! `dax-local`: a DAX server on loopback for any language's DAX client, serving every request
//! from a DynamoDB endpoint.
//!
//! ```sh
//! AWS_ACCESS_KEY_ID=... AWS_SECRET_ACCESS_KEY=... \
//!   cargo run --bin dax-local -- \
//!     --backend http://127.0.0.1:8000 --region us-east-1 --listen 127.0.0.1:8111 --nodes 2 [--tls]
//! ```
//!
//! The first line of stdout is `listening on dax://HOST:PORT` (or `daxs://`); with `--tls`
//! the second names the test CA (`ca pem PATH`), then one `node I ADDR` line per node. The
//! backend's credentials come from the default AWS chain. Without `--auth-file` every
//! connection is accepted; with it, connections must authorize (SigV4, as DAX checks IAM) with
//! one of the file's keys: lines of `ACCESS_KEY_ID SECRET_ACCESS_KEY`, `#` comments and blank
//! lines ignored. Runs until killed (Ctrl-C), or until stdin closes with `--stdin-close`
//! (handy for a parent process).
//!
//! Without `--cache` it is a pure pass-through. `--cache` turns on each node's DAX item and
//! query caches (`docs/dax-local-cache.md`): `--item-ttl-ms N` and `--query-ttl-ms N` (default
//! 300000 each; item 0 = never expire, query 0 = do not cache Query/Scan) and `--cache-size-mb N`
//! (per node, default 256). The TTLs run on the real clock.
#![allow(clippy::disallowed_methods)]

use std::collections::HashMap;
use std::io::Write;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};

use aws_config::{BehaviorVersion, Region};
use std::time::Duration;

use xacct_dax_local::{AuthVerifier, CacheConfig, DaxGateway, TlsConfig};

const USAGE: &str = "usage: dax-local [--listen ADDR] [--allow-remote] [--backend URL] \
[--region REGION] [--nodes N] [--tls] [--tls-name NAME] [--auth-file PATH] [--stdin-close] \
[--cache [--item-ttl-ms N] [--query-ttl-ms N] [--cache-size-mb N]]";

#[derive(Debug)]
struct Args {
    listen: SocketAddr,
    allow_remote: bool,
    backend: Option<String>,
    region: Option<String>,
    nodes: usize,
    tls: bool,
    tls_name: String,
    auth_file: Option<PathBuf>,
    stdin_close: bool,
    /// `Some` with `--cache`.
    cache: Option<CacheConfig>,
}

fn parse() -> Result<Args, String> {
    let a = Args {
        listen: "127.0.0.1:0".parse().expect("valid default"),
        allow_remote: false,
        backend: None,
        region: None,
        nodes: 1,
        tls: false,
        tls_name: "localhost".into(),
        auth_file: None,
        stdin_close: false,
        cache: None,
    };
    parse_args(a, std::env::args().skip(1))
}

fn parse_args(mut a: Args, args: impl Iterator<Item = String>) -> Result<Args, String> {
    let mut cache = false;
    let mut config = CacheConfig::default();
    let mut tuned = None;
    let mut it = args;
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
            "--auth-file" => a.auth_file = Some(PathBuf::from(value("--auth-file")?)),
            "--stdin-close" => a.stdin_close = true,
            "--cache" => cache = true,
            "--item-ttl-ms" | "--query-ttl-ms" | "--cache-size-mb" => {
                let v = value(&arg)?;
                let n: u64 = v.parse().map_err(|e| format!("{arg} {v:?}: {e}"))?;
                match arg.as_str() {
                    "--item-ttl-ms" => config = config.item_ttl(Duration::from_millis(n)),
                    "--query-ttl-ms" => config = config.query_ttl(Duration::from_millis(n)),
                    _ => {
                        let bytes = n
                            .checked_mul(1 << 20)
                            .filter(|b| *b > 0)
                            .ok_or(format!("{arg} {v:?}: give 1 or more MiB"))?;
                        config = config.size_bytes(bytes);
                    }
                }
                tuned = Some(arg.clone());
            }
            "-h" | "--help" => return Err(USAGE.into()),
            other => return Err(format!("unknown argument {other:?}\n{USAGE}")),
        }
    }
    if let (false, Some(flag)) = (cache, &tuned) {
        return Err(format!(
            "{flag} needs --cache (without it dax-local is a pass-through)"
        ));
    }
    a.cache = cache.then_some(config);
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
        let mut msg = format!("dax-local: {e}");
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
    let auth = match &args.auth_file {
        Some(path) => AuthVerifier::StaticSecrets(read_auth_file(path)?),
        None => AuthVerifier::AcceptAll,
    };
    let backend = loader.load().await;
    let mut builder = DaxGateway::builder()
        .backend(&backend)
        .nodes(args.nodes)
        .auth(auth)
        .listen(args.listen)
        .allow_remote(args.allow_remote);
    if let Some(cache) = args.cache {
        builder = builder.cache(cache);
    }
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

/// `ACCESS_KEY_ID SECRET_ACCESS_KEY` per line; blank lines and `#` comments are skipped.
fn read_auth_file(path: &Path) -> Result<HashMap<String, String>, String> {
    let text = std::fs::read_to_string(path)
        .map_err(|e| format!("--auth-file {}: {e}", path.display()))?;
    parse_auth_file(&text).map_err(|e| format!("--auth-file {}: {e}", path.display()))
}

fn parse_auth_file(text: &str) -> Result<HashMap<String, String>, String> {
    let mut keys = HashMap::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let [key, secret] = fields[..] else {
            // Never echo the line: it may hold a secret.
            return Err(format!(
                "line {}: expected `ACCESS_KEY_ID SECRET_ACCESS_KEY`, found {} fields",
                n + 1,
                fields.len()
            ));
        };
        keys.insert(key.to_owned(), secret.to_owned());
    }
    if keys.is_empty() {
        return Err("no keys: write one `ACCESS_KEY_ID SECRET_ACCESS_KEY` per line".into());
    }
    Ok(keys)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn args(list: &[&str]) -> Result<Args, String> {
        let a = Args {
            listen: "127.0.0.1:0".parse().unwrap(),
            allow_remote: false,
            backend: None,
            region: None,
            nodes: 1,
            tls: false,
            tls_name: "localhost".into(),
            auth_file: None,
            stdin_close: false,
            cache: None,
        };
        parse_args(a, list.iter().map(|s| s.to_string()))
    }

    #[test]
    fn cache_flags() {
        assert_eq!(
            args(&[]).unwrap().cache,
            None,
            "off by default: pass-through"
        );
        assert_eq!(
            args(&["--cache"]).unwrap().cache,
            Some(CacheConfig::default())
        );
        let c = args(&[
            "--cache",
            "--item-ttl-ms",
            "0",
            "--query-ttl-ms",
            "1500",
            "--cache-size-mb",
            "8",
        ])
        .unwrap()
        .cache
        .unwrap();
        assert_eq!(c.item_ttl, Duration::ZERO);
        assert_eq!(c.query_ttl, Duration::from_millis(1500));
        assert_eq!(c.size_bytes, 8 << 20);
        let e = args(&["--item-ttl-ms", "5"]).unwrap_err();
        assert!(e.contains("needs --cache"), "{e}");
        assert!(args(&["--cache", "--cache-size-mb", "0"]).is_err());
        assert!(args(&["--cache", "--query-ttl-ms", "x"]).is_err());
    }

    #[test]
    fn auth_files_are_pairs_per_line() {
        let keys = parse_auth_file("# keys\n\nAK1 SK1\n  AK2\tSK2  \n").unwrap();
        assert_eq!(keys.len(), 2);
        assert_eq!(keys["AK2"], "SK2");
        let e = parse_auth_file("AK1 SK1 extra-secret").unwrap_err();
        assert!(e.contains("line 1") && !e.contains("extra-secret"), "{e}");
        assert!(parse_auth_file("# nothing\n").is_err());
    }
}
