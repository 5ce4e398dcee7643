//! Helpers for the DAX gateway tests: a gateway over the shared stack, and the official DAX
//! clients (Python amazon-dax-client, Node @amazon-dax-sdk/client-dax) driven by
//! `tests/support/gateway/client.{py,js}` as child processes that are killed on drop.

use std::io::Write;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use cross_account_dynamodb::dax::gateway::DaxGatewayBuilder;
use cross_account_dynamodb::DaxGateway;
use serde_json::{json, Value};

use super::{repo_root, Stack};

/// Where `scripts/dax/setup.sh` installed the official clients (the matrix's rule).
pub use super::matrix::tools_home;

fn python() -> PathBuf {
    let p = tools_home().join("dax/venv/bin/python");
    assert!(
        p.exists(),
        "the official Python DAX client is not installed at {} (run scripts/dax/setup.sh, or set \
         XACCT_TOOLS_HOME to an existing install)",
        p.display()
    );
    p
}

fn node_modules() -> PathBuf {
    let p = tools_home().join("dax/node/node_modules");
    assert!(
        p.join("@amazon-dax-sdk/client-dax").exists(),
        "the official Node DAX client is not installed under {} (run scripts/dax/setup.sh)",
        p.display()
    );
    p
}

/// A gateway builder over the shared stack, forwarding as account A (the DAX service role).
pub async fn builder(stack: &Stack) -> DaxGatewayBuilder {
    let backend = stack.sdk_config(stack.a_credentials()).await;
    DaxGateway::builder().backend(&backend)
}

/// Which official client.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Official {
    Python,
    Node,
}

impl Official {
    pub const BOTH: [Official; 2] = [Official::Python, Official::Node];

    pub fn name(self) -> &'static str {
        match self {
            Official::Python => "python-dax",
            Official::Node => "node-dax",
        }
    }
}

/// One run of an official client over a list of operations.
#[derive(Debug, Clone)]
pub struct ClientRun {
    pub client: Official,
    pub endpoint: String,
    pub region: String,
    pub admin: Option<String>,
    /// Extra environment (credentials, CA file).
    pub env: Vec<(String, String)>,
    pub args: Vec<String>,
    pub timeout: Duration,
}

impl ClientRun {
    /// A run with account A's user keys (any key works with `AcceptAll`).
    pub fn new(client: Official, endpoint: &str, stack: &Stack) -> Self {
        ClientRun {
            client,
            endpoint: endpoint.to_owned(),
            region: stack.region().to_owned(),
            admin: Some(stack.endpoint().to_owned()),
            env: vec![
                (
                    "AWS_ACCESS_KEY_ID".into(),
                    stack.var("A_ACCESS_KEY_ID").into(),
                ),
                (
                    "AWS_SECRET_ACCESS_KEY".into(),
                    stack.var("A_SECRET_ACCESS_KEY").into(),
                ),
            ],
            args: vec![],
            timeout: Duration::from_secs(60),
        }
    }

    pub fn credentials(mut self, id: &str, secret: &str, token: Option<&str>) -> Self {
        self.env
            .retain(|(k, _)| !k.starts_with("AWS_ACCESS") && !k.starts_with("AWS_SECRET"));
        self.env.push(("AWS_ACCESS_KEY_ID".into(), id.into()));
        self.env
            .push(("AWS_SECRET_ACCESS_KEY".into(), secret.into()));
        if let Some(t) = token {
            self.env.push(("AWS_SESSION_TOKEN".into(), t.into()));
        }
        self
    }

    /// Trust this CA (Python: SSL_CERT_FILE; Node: NODE_EXTRA_CA_CERTS).
    pub fn ca(mut self, path: &std::path::Path) -> Self {
        let var = match self.client {
            Official::Python => "SSL_CERT_FILE",
            Official::Node => "NODE_EXTRA_CA_CERTS",
        };
        self.env.push((var.into(), path.display().to_string()));
        self
    }

    pub fn arg(mut self, a: &str) -> Self {
        self.args.push(a.into());
        self
    }

    /// Runs the ops (blocking: call from `spawn_blocking` or a multi-thread runtime) and
    /// returns one result per op.
    pub fn run(&self, ops: &Value) -> Vec<Value> {
        let script = repo_root().join(match self.client {
            Official::Python => "tests/support/gateway/client.py",
            Official::Node => "tests/support/gateway/client.js",
        });
        let mut cmd = match self.client {
            Official::Python => Command::new(python()),
            Official::Node => {
                let mut c = Command::new("node");
                c.env("NODE_PATH", node_modules());
                c
            }
        };
        cmd.arg(&script)
            .args(["--endpoint", &self.endpoint, "--region", &self.region])
            .args(self.args.iter());
        if let Some(admin) = &self.admin {
            cmd.args(["--admin", admin]);
        }
        for k in [
            "AWS_ACCESS_KEY_ID",
            "AWS_SECRET_ACCESS_KEY",
            "AWS_SESSION_TOKEN",
            "AWS_PROFILE",
            "SSL_CERT_FILE",
            "NODE_EXTRA_CA_CERTS",
        ] {
            cmd.env_remove(k);
        }
        cmd.envs(self.env.iter().map(|(k, v)| (k, v)))
            .stdin(Stdio::piped())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        let mut child = ChildGuard(Some(cmd.spawn().expect("spawn the official client")));
        let proc = child.0.as_mut().expect("child present");
        proc.stdin
            .take()
            .expect("stdin piped")
            .write_all(ops.to_string().as_bytes())
            .expect("write ops");
        let out = child.wait_with_timeout(self.timeout);
        let stdout = String::from_utf8_lossy(&out.stdout);
        let parsed: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
            panic!(
                "{} printed no JSON ({e}); status {:?}\nstdout: {stdout}\nstderr: {}",
                self.client.name(),
                out.status,
                String::from_utf8_lossy(&out.stderr)
            )
        });
        let list = parsed.as_array().expect("a JSON list").clone();
        assert_eq!(
            list.len(),
            ops.as_array().map_or(0, Vec::len),
            "one result per op"
        );
        list
    }
}

/// Kills the child on drop (a failed assertion must not leave clients running).
#[derive(Debug)]
pub struct ChildGuard(pub Option<Child>);

impl ChildGuard {
    pub fn wait_with_timeout(&mut self, timeout: Duration) -> std::process::Output {
        let start = Instant::now();
        let mut child = self.0.take().expect("child present");
        // read pipes on threads so a chatty child cannot block on a full pipe
        let so = child.stdout.take();
        let se = child.stderr.take();
        let drain = |pipe: Option<Box<dyn std::io::Read + Send>>| {
            std::thread::spawn(move || {
                let mut b = Vec::new();
                if let Some(mut p) = pipe {
                    let _ = p.read_to_end(&mut b);
                }
                b
            })
        };
        let t_out = drain(so.map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
        let t_err = drain(se.map(|p| Box::new(p) as Box<dyn std::io::Read + Send>));
        let status = loop {
            if let Some(s) = child.try_wait().expect("wait for the child") {
                break s;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!("the official client did not finish within {timeout:?}");
            }
            std::thread::sleep(Duration::from_millis(20));
        };
        std::process::Output {
            status,
            stdout: t_out.join().unwrap_or_default(),
            stderr: t_err.join().unwrap_or_default(),
        }
    }
}

impl Drop for ChildGuard {
    fn drop(&mut self) {
        if let Some(mut c) = self.0.take() {
            let _ = c.kill();
            let _ = c.wait();
        }
    }
}

/// Runs a client on a blocking thread (the gateway keeps serving on the runtime).
pub async fn run(run: ClientRun, ops: Value) -> Vec<Value> {
    tokio::task::spawn_blocking(move || run.run(&ops))
        .await
        .expect("client thread")
}

/// CreateTable (admin, straight to the stack) for a hash-only S table.
pub fn create_hash_table(name: &str) -> Value {
    json!({"op": "CreateTable", "admin": true, "params": {
        "TableName": name,
        "KeySchema": [{"AttributeName": "pk", "KeyType": "HASH"}],
        "AttributeDefinitions": [{"AttributeName": "pk", "AttributeType": "S"}],
        "BillingMode": "PAY_PER_REQUEST"}})
}

/// DeleteTable (admin).
pub fn delete_table(name: &str) -> Value {
    json!({"op": "DeleteTable", "admin": true, "params": {"TableName": name}})
}

/// The error code of a failed result, with the whole result in the panic message otherwise.
pub fn error_code(r: &Value) -> &str {
    assert_eq!(r["ok"], false, "expected an error, got {r}");
    r["code"].as_str().unwrap_or("")
}

/// The output of a successful result.
pub fn output(r: &Value) -> &Value {
    assert_eq!(r["ok"], true, "expected success, got {r}");
    &r["output"]
}

/// A load driver (`scripts/dax/conformance/load_{python.py,node.js}`) running as a child; its
/// JSONL lines are collected as they come.
#[derive(Debug)]
pub struct LoadDriver {
    pub client: Official,
    pub prefix: String,
    child: ChildGuard,
    lines: std::sync::Arc<std::sync::Mutex<Vec<Value>>>,
    reader: Option<std::thread::JoinHandle<()>>,
}

impl LoadDriver {
    /// Starts a driver on the seeded `orders` table (hash `pk`, range `sk` = 0).
    pub fn start(
        client: Official,
        endpoint: &str,
        stack: &Stack,
        prefix: &str,
        seconds: f64,
    ) -> LoadDriver {
        let dir = repo_root().join("scripts/dax/conformance");
        let mut cmd = match client {
            Official::Python => {
                let mut c = Command::new(python());
                c.arg(dir.join("load_python.py"));
                c
            }
            Official::Node => {
                let mut c = Command::new("node");
                c.arg(dir.join("load_node.js"));
                c
            }
        };
        cmd.args(["--endpoint", endpoint, "--region", stack.region()])
            .args(["--table", stack.table(), "--prefix", prefix])
            .args(["--seconds", &seconds.to_string(), "--range-key", "sk"])
            .env("XACCT_TOOLS_HOME", tools_home())
            .env("NODE_PATH", tools_home().join("dax/node/node_modules"))
            .env("AWS_ACCESS_KEY_ID", stack.var("A_ACCESS_KEY_ID"))
            .env("AWS_SECRET_ACCESS_KEY", stack.var("A_SECRET_ACCESS_KEY"))
            .envs(std::env::var("GW_DAX_DEBUG").ok().map(|v| ("DAX_DEBUG", v)))
            .env_remove("AWS_SESSION_TOKEN")
            .env_remove("AWS_PROFILE")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::inherit());
        let mut child = cmd.spawn().expect("spawn the load driver");
        let stdout = child.stdout.take().expect("stdout piped");
        let lines = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let sink = lines.clone();
        let reader = std::thread::spawn(move || {
            use std::io::BufRead;
            for line in std::io::BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                match serde_json::from_str::<Value>(&line) {
                    Ok(v) => sink.lock().unwrap().push(v),
                    Err(_) => eprintln!("[load driver] {line}"),
                }
            }
        });
        LoadDriver {
            client,
            prefix: prefix.to_owned(),
            child: ChildGuard(Some(child)),
            lines,
            reader: Some(reader),
        }
    }

    /// The operation lines so far.
    pub fn lines(&self) -> Vec<Value> {
        self.lines.lock().unwrap().clone()
    }

    /// The driver's clock (`t_ms` of its latest line), if it has written one.
    pub fn now_ms(&self) -> Option<f64> {
        self.lines().iter().rev().find_map(|l| l["t_ms"].as_f64())
    }

    /// Successful puts so far.
    pub fn puts_ok(&self) -> usize {
        self.lines()
            .iter()
            .filter(|l| l["op"] == "put" && l["ok"] == true)
            .count()
    }

    /// Waits for the driver to end (it stops by itself after `seconds`); returns its operation
    /// lines and its summary.
    pub fn finish(mut self, timeout: Duration) -> (Vec<Value>, Value) {
        let mut child = self.child.0.take().expect("child present");
        let start = Instant::now();
        let status = loop {
            if let Some(status) = child.try_wait().expect("wait") {
                break status;
            }
            if start.elapsed() > timeout {
                let _ = child.kill();
                let _ = child.wait();
                panic!(
                    "the {} load driver did not stop in time",
                    self.client.name()
                );
            }
            std::thread::sleep(Duration::from_millis(50));
        };
        if let Some(r) = self.reader.take() {
            let _ = r.join();
        }
        let all = self.lines();
        let summary = all
            .iter()
            .find(|l| l.get("summary").is_some())
            .map(|l| l["summary"].clone())
            .unwrap_or_else(|| {
                panic!(
                    "the {} driver printed no summary ({status}); its last lines: {:?}",
                    self.client.name(),
                    &all[all.len().saturating_sub(3)..]
                )
            });
        let ops = all
            .into_iter()
            .filter(|l| l.get("summary").is_none())
            .collect();
        (ops, summary)
    }
}

/// The `dax-local` binary cargo built beside the test binaries.
pub fn dax_local_binary() -> PathBuf {
    // target/<profile>/deps/<this test> -> target/<profile>/dax-local
    let exe = std::env::current_exe().unwrap();
    let path = exe
        .parent()
        .unwrap()
        .parent()
        .unwrap()
        .join(format!("dax-local{}", std::env::consts::EXE_SUFFIX));
    assert!(
        path.exists(),
        "{} is missing: build it with `cargo build -p xacct-dax-local --bin dax-local` \
         (scripts/test.sh does)",
        path.display()
    );
    path
}

/// A running `dax-local` and its stdout (kept open: it prints more lines after the first).
#[derive(Debug)]
pub struct DaxLocal(ChildGuard, std::io::BufReader<std::process::ChildStdout>);

impl DaxLocal {
    /// Starts `dax-local` with `args` against the stack, as account A; returns it with the
    /// endpoint from its first line (`listening on dax://…`).
    pub fn start(stack: &Stack, args: &[&str]) -> (DaxLocal, String) {
        use std::io::BufRead;

        let mut child = ChildGuard(Some(
            Command::new(dax_local_binary())
                .args(["--backend", stack.endpoint(), "--region", stack.region()])
                .args(["--listen", "127.0.0.1:0", "--stdin-close"])
                .args(args)
                .env_clear()
                .env("AWS_ACCESS_KEY_ID", stack.var("A_ACCESS_KEY_ID"))
                .env("AWS_SECRET_ACCESS_KEY", stack.var("A_SECRET_ACCESS_KEY"))
                .env("AWS_EC2_METADATA_DISABLED", "true")
                .stdin(Stdio::piped())
                .stdout(Stdio::piped())
                .stderr(Stdio::inherit())
                .spawn()
                .expect("start dax-local"),
        ));
        let proc = child.0.as_mut().unwrap();
        let mut stdout = std::io::BufReader::new(proc.stdout.take().unwrap());
        let mut first = String::new();
        stdout.read_line(&mut first).unwrap();
        let endpoint = first
            .trim()
            .strip_prefix("listening on ")
            .unwrap_or_else(|| panic!("first line: {first:?}"))
            .to_owned();
        assert!(endpoint.starts_with("dax://127.0.0.1:"), "{endpoint}");
        (DaxLocal(child, stdout), endpoint)
    }

    /// Closes its stdin (`--stdin-close`) and checks that it exits cleanly.
    pub fn stop(self) {
        let DaxLocal(mut child, _stdout) = self;
        drop(child.0.as_mut().unwrap().stdin.take());
        let status = child.wait_with_timeout(Duration::from_secs(10)).status;
        assert!(status.success(), "{status}");
    }
}
