//! Running the matrix through a script runner (`scripts/dax/conformance/run_python.py` for sides
//! `python-dax` / `botocore`, `run_node.js` for `node-dax` / `js-sdk`) and reading its results.

use std::io::Read;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use serde_json::Value;

use super::{Matrix, RowResult};

/// Where and as whom a script runner runs. (Debug leaves the secret and the token out.)
#[derive(Clone)]
pub struct ScriptArgs {
    /// The side's endpoint: `dax://127.0.0.1:PORT` / `daxs://...` for DAX sides, the local stack's
    /// `http://127.0.0.1:PORT` for `botocore` / `js-sdk`.
    pub endpoint: String,
    /// The local stack's HTTP endpoint (CreateTable/DeleteTable).
    pub admin_endpoint: String,
    pub region: String,
    /// `(access key id, secret, session token)`, passed as the standard AWS_* variables.
    pub credentials: (String, String, Option<String>),
    /// A PEM bundle the client must trust (`daxs://` with the test CA).
    pub ca_file: Option<PathBuf>,
    /// Kill the runner after this long (default 120 s).
    pub timeout: Duration,
}

impl std::fmt::Debug for ScriptArgs {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ScriptArgs")
            .field("endpoint", &self.endpoint)
            .field("admin_endpoint", &self.admin_endpoint)
            .field("region", &self.region)
            .field("access_key_id", &self.credentials.0)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.credentials.2.as_ref().map(|_| "** redacted **"),
            )
            .field("ca_file", &self.ca_file)
            .field("timeout", &self.timeout)
            .finish()
    }
}

impl ScriptArgs {
    /// Straight to the local stack with account A's user (the one the matrix tables live under).
    pub fn for_stack(stack: &crate::support::Stack, endpoint: &str) -> ScriptArgs {
        ScriptArgs {
            endpoint: endpoint.to_owned(),
            admin_endpoint: stack.endpoint().to_owned(),
            region: stack.region().to_owned(),
            credentials: (
                stack.var("A_ACCESS_KEY_ID").to_owned(),
                stack.var("A_SECRET_ACCESS_KEY").to_owned(),
                None,
            ),
            ca_file: None,
            timeout: Duration::from_secs(120),
        }
    }
}

/// `$XACCT_TOOLS_HOME` (default `<repo>/.tools`): where scripts/dax/setup.sh installed the clients.
pub fn tools_home() -> PathBuf {
    std::env::var_os("XACCT_TOOLS_HOME")
        .map_or_else(|| crate::support::repo_root().join(".tools"), PathBuf::from)
}

/// The command that runs `side`: the setup.sh venv's python or `node`, and the runner script.
fn runner(side: &str) -> Command {
    let dir = crate::support::repo_root().join("scripts/dax/conformance");
    match side {
        "python-dax" | "botocore" => {
            let py = tools_home().join("dax/venv/bin/python");
            assert!(
                py.exists(),
                "side {side} needs the venv of scripts/dax/setup.sh ({} is missing): run \
                 `bash scripts/dax/setup.sh` (scripts/test.sh does), or set XACCT_TOOLS_HOME",
                py.display()
            );
            let mut c = Command::new(py);
            c.arg(dir.join("run_python.py"));
            c
        }
        "node-dax" | "js-sdk" => {
            let modules = tools_home().join("dax/node/node_modules/@amazon-dax-sdk/client-dax");
            assert!(
                modules.exists(),
                "side {side} needs the Node modules of scripts/dax/setup.sh ({} is missing): run \
                 `bash scripts/dax/setup.sh`, or set XACCT_TOOLS_HOME",
                modules.display()
            );
            let mut c = Command::new("node");
            c.arg(dir.join("run_node.js"));
            c
        }
        other => {
            panic!("no script runner for side {other:?} (python-dax, botocore, node-dax, js-sdk)")
        }
    }
}

/// Kills and reaps the child when dropped (a panicking test leaves no runner behind).
struct KillOnDrop(Child);

impl Drop for KillOnDrop {
    fn drop(&mut self) {
        if let Ok(None) = self.0.try_wait() {
            let _ = self.0.kill();
        }
        let _ = self.0.wait();
    }
}

/// Runs the matrix on `side` with its script runner (tables named with `m.prefix`) and returns
/// its results. Panics, with the runner's stderr, when the runner breaks, times out or prints
/// something that is not a result list; row failures are results, judged by [`super::judge`].
pub fn run_script(side: &str, m: &Matrix, args: &ScriptArgs) -> Vec<RowResult> {
    let mut cmd = runner(side);
    cmd.arg("--matrix")
        .arg(&m.path)
        .args(["--side", side, "--endpoint", &args.endpoint])
        .args(["--admin-endpoint", &args.admin_endpoint])
        .args(["--region", &args.region, "--prefix", &m.prefix]);
    if let Some(ca) = &args.ca_file {
        cmd.arg("--ca-file").arg(ca);
        // Node reads it only at start (run_node.js would re-run itself otherwise).
        if side == "node-dax" || side == "js-sdk" {
            cmd.env("NODE_EXTRA_CA_CERTS", ca);
        }
    }
    for k in [
        "AWS_PROFILE",
        "AWS_DEFAULT_PROFILE",
        "AWS_SESSION_TOKEN",
        "AWS_SECURITY_TOKEN",
        "AWS_ENDPOINT_URL",
        "AWS_ENDPOINT_URL_DYNAMODB",
        "AWS_CONFIG_FILE",
        "AWS_SHARED_CREDENTIALS_FILE",
    ] {
        cmd.env_remove(k);
    }
    let (id, secret, token) = &args.credentials;
    cmd.env("AWS_ACCESS_KEY_ID", id)
        .env("AWS_SECRET_ACCESS_KEY", secret)
        .env("AWS_REGION", &args.region)
        .env("AWS_DEFAULT_REGION", &args.region)
        .env("AWS_EC2_METADATA_DISABLED", "true")
        // no ~/.aws: nothing of a developer's own setup leaks in
        .env("AWS_CONFIG_FILE", "/dev/null")
        .env("AWS_SHARED_CREDENTIALS_FILE", "/dev/null")
        .env("XACCT_TOOLS_HOME", tools_home());
    if let Some(t) = token {
        cmd.env("AWS_SESSION_TOKEN", t);
    }
    cmd.stdin(Stdio::null())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped());
    let started = Instant::now();
    let mut child = KillOnDrop(cmd.spawn().unwrap_or_else(|e| {
        // not {cmd:?}: its Debug shows the environment, credentials included
        panic!(
            "cannot start the {side} runner ({:?}): {e}",
            cmd.get_program()
        )
    }));
    // Drain both pipes on threads, so a chatty runner never blocks on a full pipe.
    let mut out_pipe = child.0.stdout.take().expect("piped stdout");
    let mut err_pipe = child.0.stderr.take().expect("piped stderr");
    let out_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = out_pipe.read_to_string(&mut s);
        s
    });
    let err_t = std::thread::spawn(move || {
        let mut s = String::new();
        let _ = err_pipe.read_to_string(&mut s);
        s
    });
    let status = loop {
        if let Some(st) = child.0.try_wait().expect("wait for the runner") {
            break st;
        }
        if started.elapsed() > args.timeout {
            let _ = child.0.kill();
            let _ = child.0.wait();
            let stderr = err_t.join().unwrap_or_default();
            panic!(
                "the {side} runner did not finish within {:?} (killed); stderr:\n{stderr}",
                args.timeout
            );
        }
        std::thread::sleep(Duration::from_millis(20));
    };
    let stdout = out_t.join().unwrap_or_default();
    let stderr = err_t.join().unwrap_or_default();
    assert!(
        status.success(),
        "the {side} runner failed ({status}); stderr:\n{stderr}"
    );
    let list: Value = serde_json::from_str(stdout.trim()).unwrap_or_else(|e| {
        panic!("the {side} runner printed no JSON result list ({e}); stdout:\n{stdout}\nstderr:\n{stderr}")
    });
    let list = list
        .as_array()
        .unwrap_or_else(|| panic!("the {side} runner printed {list}, not a list"));
    list.iter()
        .map(|v| {
            RowResult::from_json(v, &m.prefix)
                .unwrap_or_else(|e| panic!("the {side} runner's result is malformed: {e}"))
        })
        .collect()
}
