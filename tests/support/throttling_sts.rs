//! An in-process STS for pool-scale benches and tests: an SDK `HttpClient` that answers
//! AssumeRole with credentials of real size (a session token of ~1,100 bytes, unique per call),
//! answers HTTP 400 `Throttling` (STS's XML error shape) above its own rate limit (a sliding
//! one-second window over the calls it accepted), counts calls, throttles and issues, and can
//! record each request (URI, host, form parameters, time, outcome).
//!
//! Time comes from the `TimeSource` / `AsyncSleep` it is given: the real clock
//! (`SystemTimeSource`, `TokioSleep`) for the benches, an injected one
//! (`tick_advance_time_and_sleep`) for the tests. Shared by `benches/pool_scale.rs` and
//! `tests/pool_scale.rs` through `#[path]` / `mod support`.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, HashMap, VecDeque};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_config::{BehaviorVersion, Region, SdkConfig};
use aws_credential_types::provider::SharedCredentialsProvider;
use aws_credential_types::Credentials;
use aws_smithy_async::rt::sleep::{AsyncSleep, SharedAsyncSleep};
use aws_smithy_async::time::{SharedTimeSource, TimeSource};
use aws_smithy_runtime_api::client::http::{
    HttpClient, HttpConnector, HttpConnectorFuture, HttpConnectorSettings, SharedHttpClient,
    SharedHttpConnector,
};
use aws_smithy_runtime_api::client::orchestrator::{HttpRequest, HttpResponse};
use aws_smithy_runtime_api::client::runtime_components::RuntimeComponents;
use aws_smithy_runtime_api::http::StatusCode;
use aws_smithy_types::body::SdkBody;
use aws_smithy_types::date_time::{DateTime, Format};
use aws_smithy_types::retry::RetryConfig;

/// The fake's own limit by default: accepted AssumeRole calls per sliding second.
pub const DEFAULT_LIMIT: u32 = 1000;
/// The default length of a session token (real ones are 700 to 1,500+ bytes).
pub const DEFAULT_TOKEN_LEN: usize = 1100;

/// A scripted failure for one role.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Failure {
    /// HTTP 403 AccessDenied, STS's wording.
    AccessDenied,
    /// HTTP 500 InternalFailure.
    Internal,
}

/// What the fake answered.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    Issued { access_key_id: String },
    Throttled,
    Failed(u16),
}

/// One STS request, when recording is on.
#[derive(Debug, Clone)]
pub struct StsRequest {
    /// The whole request URI, e.g. `https://sts.eu-south-1.amazonaws.com/`.
    pub uri: String,
    /// Its host, e.g. `sts.eu-south-1.amazonaws.com`.
    pub host: String,
    pub params: BTreeMap<String, String>,
    /// The clock's time when the request arrived.
    pub at: SystemTime,
    pub outcome: Outcome,
}

impl StsRequest {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
    pub fn role_arn(&self) -> &str {
        self.param("RoleArn").unwrap_or("")
    }
}

#[derive(Debug)]
struct State {
    limit: Option<u32>,
    /// Times of the accepted calls of the last second (the sliding window).
    window: VecDeque<SystemTime>,
    /// Every call before this time answers Throttling (an STS under pressure).
    throttle_until: Option<SystemTime>,
    failing: HashMap<String, Failure>,
    latency: Duration,
    record: bool,
    requests: Vec<StsRequest>,
    /// STS attempts per whole second of the clock (seconds since the Unix epoch).
    per_second: BTreeMap<u64, u32>,
    token_len: usize,
    default_lifetime: Duration,
}

#[derive(Debug, Default)]
struct Counters {
    calls: AtomicU64,
    throttled: AtomicU64,
    issued: AtomicU64,
    failed: AtomicU64,
}

/// The fake STS. Clones share state.
#[derive(Debug, Clone)]
pub struct ThrottlingSts {
    state: Arc<Mutex<State>>,
    counters: Arc<Counters>,
    time: SharedTimeSource,
    sleep: SharedAsyncSleep,
}

impl ThrottlingSts {
    /// A fake with the default limit (1,000 calls/s), no latency, 1 h credentials, recording on.
    pub fn new(time: impl TimeSource + 'static, sleep: impl AsyncSleep + 'static) -> Self {
        ThrottlingSts {
            state: Arc::new(Mutex::new(State {
                limit: Some(DEFAULT_LIMIT),
                window: VecDeque::new(),
                throttle_until: None,
                failing: HashMap::new(),
                latency: Duration::ZERO,
                record: true,
                requests: Vec::new(),
                per_second: BTreeMap::new(),
                token_len: DEFAULT_TOKEN_LEN,
                default_lifetime: Duration::from_secs(3600),
            })),
            counters: Arc::new(Counters::default()),
            time: SharedTimeSource::new(time),
            sleep: SharedAsyncSleep::new(sleep),
        }
    }

    /// Accepted calls per sliding second before answering Throttling; `None`: no limit.
    pub fn set_limit(&self, calls_per_second: Option<u32>) {
        self.state.lock().unwrap().limit = calls_per_second;
    }

    /// Answer every call Throttling until the clock reaches `until`.
    pub fn throttle_until(&self, until: SystemTime) {
        self.state.lock().unwrap().throttle_until = Some(until);
    }

    /// Answer every call for `role_arn` with `failure` (`None`: answer it normally again).
    pub fn fail_role(&self, role_arn: &str, failure: Option<Failure>) {
        let mut st = self.state.lock().unwrap();
        match failure {
            Some(f) => st.failing.insert(role_arn.to_owned(), f),
            None => st.failing.remove(role_arn),
        };
    }

    /// Every answer takes this long (on the given sleep).
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Keep (or stop keeping) a record of each request. Off for memory measurements.
    pub fn record(&self, on: bool) {
        self.state.lock().unwrap().record = on;
    }

    /// Session lifetime when the request gives no DurationSeconds (default 1 h).
    pub fn set_default_lifetime(&self, lifetime: Duration) {
        self.state.lock().unwrap().default_lifetime = lifetime;
    }

    pub fn set_token_len(&self, len: usize) {
        self.state.lock().unwrap().token_len = len;
    }

    /// AssumeRole HTTP requests received.
    pub fn calls(&self) -> u64 {
        self.counters.calls.load(Ordering::Relaxed)
    }
    /// Throttling answers sent.
    pub fn throttled(&self) -> u64 {
        self.counters.throttled.load(Ordering::Relaxed)
    }
    /// Credentials issued.
    pub fn issued(&self) -> u64 {
        self.counters.issued.load(Ordering::Relaxed)
    }
    /// Scripted failures (AccessDenied, 500) sent.
    pub fn failed(&self) -> u64 {
        self.counters.failed.load(Ordering::Relaxed)
    }

    /// The recorded requests (only while recording is on).
    pub fn requests(&self) -> Vec<StsRequest> {
        self.state.lock().unwrap().requests.clone()
    }

    /// The recorded requests for one role.
    pub fn requests_for(&self, role_arn: &str) -> Vec<StsRequest> {
        self.state
            .lock()
            .unwrap()
            .requests
            .iter()
            .filter(|r| r.role_arn() == role_arn)
            .cloned()
            .collect()
    }

    /// STS attempts per whole second of the clock (seconds since the Unix epoch), recorded
    /// whether or not recording is on.
    pub fn per_second(&self) -> BTreeMap<u64, u32> {
        self.state.lock().unwrap().per_second.clone()
    }

    /// Forget the per-second counts (e.g. after a cold start).
    pub fn clear_per_second(&self) {
        self.state.lock().unwrap().per_second.clear();
    }

    pub fn http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }

    /// Account B's SdkConfig aimed at this fake: static source keys, Region us-east-1, the
    /// fake's clock and sleep, the SDK's standard retry with `max_attempts`.
    pub fn sdk_config(&self, max_attempts: u32) -> SdkConfig {
        self.sdk_config_builder(max_attempts).build()
    }

    /// The same, as a builder (to add an endpoint override, say).
    pub fn sdk_config_builder(&self, max_attempts: u32) -> aws_types::sdk_config::Builder {
        SdkConfig::builder()
            .behavior_version(BehaviorVersion::latest())
            .region(Region::from_static("us-east-1"))
            .credentials_provider(SharedCredentialsProvider::new(Credentials::new(
                "AKIDSOURCEB",
                "sourceSecretKeyOfAccountB",
                None,
                None,
                "test",
            )))
            .http_client(self.http_client())
            .time_source(self.time.clone())
            .sleep_impl(self.sleep.clone())
            .retry_config(RetryConfig::standard().with_max_attempts(max_attempts))
    }

    /// The access key id of issue number `n` (1-based).
    pub fn access_key_of(n: u64) -> String {
        format!("ASIAFAKE{n:012}")
    }

    fn answer(&self, request: &HttpRequest) -> (Duration, u16, String) {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let params = parse_form(&body);
        let uri = request.uri().to_owned();
        let now = self.time.now();
        self.counters.calls.fetch_add(1, Ordering::Relaxed);
        let mut st = self.state.lock().unwrap();
        let second = now.duration_since(UNIX_EPOCH).unwrap_or_default().as_secs();
        *st.per_second.entry(second).or_default() += 1;
        let role_arn = params.get("RoleArn").cloned().unwrap_or_default();
        let window_start = now
            .checked_sub(Duration::from_secs(1))
            .unwrap_or(UNIX_EPOCH);
        while st.window.front().is_some_and(|t| *t <= window_start) {
            st.window.pop_front();
        }
        let throttle = st.throttle_until.is_some_and(|until| now < until)
            || st.limit.is_some_and(|l| st.window.len() >= l as usize);
        let (status, body, outcome) = if throttle {
            self.counters.throttled.fetch_add(1, Ordering::Relaxed);
            (
                400,
                error_xml("Sender", "Throttling", "Rate exceeded"),
                Outcome::Throttled,
            )
        } else if let Some(failure) = st.failing.get(&role_arn).copied() {
            self.counters.failed.fetch_add(1, Ordering::Relaxed);
            st.window.push_back(now);
            match failure {
                Failure::AccessDenied => (
                    403,
                    error_xml(
                        "Sender",
                        "AccessDenied",
                        &format!(
                            "User: arn:aws:iam::222222222222:user/app is not authorized to \
                             perform: sts:AssumeRole on resource: {role_arn}"
                        ),
                    ),
                    Outcome::Failed(403),
                ),
                Failure::Internal => (
                    500,
                    error_xml("Receiver", "InternalFailure", "internal error"),
                    Outcome::Failed(500),
                ),
            }
        } else {
            st.window.push_back(now);
            let n = self.counters.issued.fetch_add(1, Ordering::Relaxed) + 1;
            let lifetime = params
                .get("DurationSeconds")
                .and_then(|d| d.parse().ok())
                .map_or(st.default_lifetime, Duration::from_secs);
            let akid = Self::access_key_of(n);
            let body = credentials_xml(n, &akid, now + lifetime, &params, st.token_len);
            (
                200,
                body,
                Outcome::Issued {
                    access_key_id: akid,
                },
            )
        };
        if st.record {
            let host = uri
                .split_once("://")
                .map_or(uri.as_str(), |(_, rest)| rest)
                .split(['/', '?'])
                .next()
                .unwrap_or("")
                .to_owned();
            st.requests.push(StsRequest {
                uri,
                host,
                params,
                at: now,
                outcome,
            });
        }
        (st.latency, status, body)
    }
}

impl HttpConnector for ThrottlingSts {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let (latency, status, body) = self.answer(&request);
        let sleep = self.sleep.clone();
        HttpConnectorFuture::new(async move {
            if !latency.is_zero() {
                sleep.sleep(latency).await;
            }
            let mut response = HttpResponse::new(
                StatusCode::try_from(status).expect("valid status"),
                SdkBody::from(body),
            );
            response.headers_mut().insert("content-type", "text/xml");
            response
                .headers_mut()
                .insert("x-amzn-requestid", "fake-request-id");
            Ok(response)
        })
    }
}

impl HttpClient for ThrottlingSts {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

/// `len` characters of a base64-looking token, unique per `n` (xorshift seeded with it).
fn token(n: u64, len: usize) -> String {
    const ALPHABET: &[u8] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
    let mut out = format!("IQoJb3JpZ2luX2VjE{n:016}");
    let mut x = n.wrapping_mul(0x9E37_79B9_7F4A_7C15) | 1;
    while out.len() < len {
        x ^= x << 13;
        x ^= x >> 7;
        x ^= x << 17;
        out.push(ALPHABET[(x % 64) as usize] as char);
    }
    out
}

fn credentials_xml(
    n: u64,
    akid: &str,
    expiry: SystemTime,
    params: &BTreeMap<String, String>,
    token_len: usize,
) -> String {
    let role_arn = params.get("RoleArn").map(String::as_str).unwrap_or("");
    let account = role_arn.split(':').nth(4).unwrap_or("111111111111");
    let role = role_arn.rsplit('/').next().unwrap_or("role");
    let session = params
        .get("RoleSessionName")
        .map(String::as_str)
        .unwrap_or("s");
    let expiration = DateTime::from(expiry)
        .fmt(Format::DateTime)
        .expect("formattable");
    let secret = {
        let t = token(n ^ 0x005E_C2E7, 40);
        t[t.len() - 40..].to_owned()
    };
    let session_token = token(n, token_len);
    format!(
        r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAFAKEROLEID{n:08}:{session}</AssumedRoleId>
      <Arn>arn:aws:sts::{account}:assumed-role/{role}/{session}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{session_token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>fake-{n}</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#
    )
}

#[path = "sts_wire.rs"]
mod sts_wire;
use sts_wire::{error_xml, parse_form};
