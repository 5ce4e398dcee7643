//! A port whose packets are dropped (as a security group, a network ACL or a missing peering
//! route does) must be reported as `dax_connection_timeout`, within the run's time bound.
//!
//! The test builds its own network: two network namespaces joined by a veth pair, 10.213.0.1
//! (client) and 10.213.0.2 (the "DAX node"), and runs the `xacct` binary inside the client
//! namespace with `ip netns exec`. Only addresses inside those namespaces are used. Packets are
//! dropped with `tc qdisc add dev X root netem loss 100%`; on a kernel without `sch_netem`, by
//! taking the peer's link down behind a permanent neighbour entry (the SYN leaves and is
//! silently lost, exactly as with netem). The namespaces are deleted on drop, whatever happens.
//!
//! Needs root (CI runs as root); without it the test says so and does nothing else.
#![allow(clippy::disallowed_methods)]

mod common;

use std::process::{Command, Output};
use std::time::{Duration, Instant};

use common::xacct;

fn ip(args: &[&str]) -> Output {
    Command::new("ip")
        .args(args)
        .output()
        .unwrap_or_else(|e| panic!("cannot run `ip {}` (iproute2): {e}", args.join(" ")))
}

#[track_caller]
fn ip_ok(args: &[&str]) {
    let out = ip(args);
    assert!(
        out.status.success(),
        "`ip {}` failed: {}",
        args.join(" "),
        String::from_utf8_lossy(&out.stderr)
    );
}

/// The namespaces this test created; deleted on drop (the veth pair goes with them).
struct Namespaces(Vec<String>);

impl Drop for Namespaces {
    fn drop(&mut self) {
        for n in &self.0 {
            let _ = Command::new("ip").args(["netns", "del", n]).output();
        }
    }
}

fn is_root() -> bool {
    Command::new("id")
        .arg("-u")
        .output()
        .map(|o| String::from_utf8_lossy(&o.stdout).trim() == "0")
        .unwrap_or(false)
}

fn run_in(ns: &str, sts: &str, dax: &str) -> (serde_json::Value, Duration, Output) {
    let started = Instant::now();
    let out = Command::new("ip")
        .args(["netns", "exec", ns])
        .arg(env!("CARGO_BIN_EXE_xacct"))
        .args([
            "doctor",
            "--role-arn",
            "arn:aws:iam::111111111111:role/CrossAccountDynamoRole",
        ])
        .args(["--region", "us-east-1", "--dax", dax, "--json"])
        .env_clear()
        .env("PATH", std::env::var_os("PATH").unwrap_or_default())
        .env("HOME", "/nonexistent/xacct-doctor-home")
        .env("AWS_EC2_METADATA_DISABLED", "true")
        .env("AWS_CONFIG_FILE", "/nonexistent/xacct-doctor/config")
        .env(
            "AWS_SHARED_CREDENTIALS_FILE",
            "/nonexistent/xacct-doctor/credentials",
        )
        .env("AWS_ACCESS_KEY_ID", "AKIAXACCTDOCTORNETNS")
        .env("AWS_SECRET_ACCESS_KEY", "netns-test-secret")
        .env("AWS_ENDPOINT_URL", sts)
        .output()
        .expect("ip netns exec xacct");
    let elapsed = started.elapsed();
    let _ = xacct; // the same binary as common::xacct(), run through ip netns exec
    let report = serde_json::from_slice(&out.stdout).unwrap_or_else(|e| {
        panic!(
            "no JSON report ({e}): {}{}",
            String::from_utf8_lossy(&out.stdout),
            String::from_utf8_lossy(&out.stderr)
        )
    });
    (report, elapsed, out)
}

fn check<'a>(report: &'a serde_json::Value, id: &str) -> &'a serde_json::Value {
    report["checks"]
        .as_array()
        .expect("checks")
        .iter()
        .find(|c| c["id"] == id)
        .unwrap_or_else(|| panic!("no check {id} in {report:#}"))
}

#[test]
fn dropped_port_times_out() {
    if !is_root() {
        eprintln!(
            "SKIPPED dropped_port_times_out: creating network namespaces (ip netns add) needs \
             root; run the tests as root (CI does) to exercise dax_connection_timeout"
        );
        return;
    }
    let pid = std::process::id();
    let client = format!("xdoc-{pid}-c");
    let server = format!("xdoc-{pid}-s");
    let (vc, vs) = (format!("xdc{pid}"), format!("xds{pid}"));
    let _guard = Namespaces(vec![client.clone(), server.clone()]);
    ip_ok(&["netns", "add", &client]);
    ip_ok(&["netns", "add", &server]);
    ip_ok(&[
        "link", "add", &vc, "netns", &client, "type", "veth", "peer", "name", &vs, "netns", &server,
    ]);
    ip_ok(&["-n", &client, "addr", "add", "10.213.0.1/30", "dev", &vc]);
    ip_ok(&["-n", &server, "addr", "add", "10.213.0.2/30", "dev", &vs]);
    ip_ok(&["-n", &client, "link", "set", "lo", "up"]);
    ip_ok(&["-n", &client, "link", "set", &vc, "up"]);
    ip_ok(&["-n", &server, "link", "set", &vs, "up"]);

    // Control: the path works and nothing listens, so the node answers RST: refused, at once.
    let (report, elapsed, _) = run_in(&client, "http://127.0.0.1:9", "dax://10.213.0.2:8111");
    assert_eq!(
        check(&report, "dax_connect")["cause"],
        "dax_connection_refused",
        "{report:#}"
    );
    assert_eq!(
        check(&report, "source_identity")["cause"],
        "sts_unreachable",
        "{report:#}"
    );
    assert!(elapsed < Duration::from_secs(5), "{elapsed:?}");

    // Now drop every packet towards the node.
    let tc = Command::new("tc")
        .args([
            "-n", &client, "qdisc", "add", "dev", &vc, "root", "netem", "loss", "100%",
        ])
        .output()
        .expect("run tc (iproute2)");
    if !tc.status.success() {
        eprintln!(
            "tc netem is not available here ({}); dropping with the peer's link down behind a \
             permanent neighbour entry instead",
            String::from_utf8_lossy(&tc.stderr).trim()
        );
        let link = ip(&["-n", &server, "-o", "link", "show", &vs]);
        let text = String::from_utf8_lossy(&link.stdout).to_string();
        let mac = text
            .split_whitespace()
            .skip_while(|w| *w != "link/ether")
            .nth(1)
            .unwrap_or_else(|| panic!("no MAC address in {text}"))
            .to_owned();
        ip_ok(&[
            "-n",
            &client,
            "neigh",
            "replace",
            "10.213.0.2",
            "lladdr",
            &mac,
            "dev",
            &vc,
            "nud",
            "permanent",
        ]);
        ip_ok(&["-n", &server, "link", "set", &vs, "down"]);
    }

    // STS behind the same dropped path: the whole run must still end within 10 s.
    let (report, elapsed, out) = run_in(&client, "http://10.213.0.2:443", "dax://10.213.0.2:8111");
    assert_eq!(out.status.code(), Some(1));
    let connect = check(&report, "dax_connect");
    assert_eq!(connect["status"], "fail", "{report:#}");
    assert_eq!(connect["cause"], "dax_connection_timeout", "{report:#}");
    assert!(
        connect["fix"]
            .as_str()
            .unwrap()
            .contains("authorize-security-group-ingress"),
        "{connect}"
    );
    assert_eq!(
        check(&report, "source_identity")["cause"],
        "sts_unreachable",
        "{report:#}"
    );
    assert_eq!(check(&report, "dax_dns")["status"], "pass");
    for id in ["dax_tls", "dax_auth", "dax_nodes", "dax_request"] {
        assert_eq!(check(&report, id)["status"], "skip", "{id}: {report:#}");
    }
    assert!(elapsed < Duration::from_secs(10), "took {elapsed:?}");
    println!("dropped port reported in {elapsed:?}:\n{report:#}");
}
