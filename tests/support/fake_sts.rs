//! An in-process STS (and a minimal DynamoDB) for deterministic tests: an `HttpClient` that
//! answers AssumeRole from a script, counts HTTP requests, records every request's parameters,
//! URI and signing key, and takes its time (expirations, latency) from the injected clock and
//! sleep. DynamoDB requests (an `x-amz-target` of `DynamoDB_20120810.*`) get `{}` or a scripted
//! error.
#![allow(dead_code, unreachable_pub)]

use std::collections::{BTreeMap, VecDeque};
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime};

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

/// What the fake answers.
#[derive(Debug, Clone)]
pub enum Reply {
    /// Credentials valid for this long from "now" (the injected clock).
    Ok(Duration),
    /// Credentials that expired already (a skewed STS).
    AlreadyExpired,
    /// HTTP 400 Throttling (what STS sends when throttling).
    Throttling,
    /// HTTP 500 InternalFailure.
    Internal,
    /// HTTP 403 AccessDenied, STS's wording.
    AccessDenied,
    /// HTTP 400 ValidationError with this message.
    Validation(String),
    /// Role chaining: ValidationError for DurationSeconds > 3600 on requests signed with a
    /// session token, else credentials for this long.
    ChainingCapped(Duration),
    /// Accept the request and never answer (a hung STS).
    Hang,
    /// HTTP 200 with a truncated body that still carries a secret key and session token
    /// (those of the next issue number, see `secrets_of`).
    Truncated,
    /// HTTP 403 AccessDenied whose message echoes the request's ExternalId.
    AccessDeniedEchoingExternalId,
}

/// One request the fake received.
#[derive(Debug, Clone)]
pub struct Request {
    pub params: BTreeMap<String, String>,
    /// The access key id that signed it.
    pub signed_with: String,
    pub had_session_token: bool,
    pub at: SystemTime,
}

impl Request {
    pub fn param(&self, name: &str) -> Option<&str> {
        self.params.get(name).map(String::as_str)
    }
}

/// A DynamoDB request the fake received.
#[derive(Debug, Clone)]
pub struct DynamoRequest {
    /// e.g. `DynamoDB_20120810.GetItem`
    pub target: String,
    pub uri: String,
    pub signed_with: String,
}

/// What the fake answers a DynamoDB request with (default: `{}`, HTTP 200).
#[derive(Debug, Clone)]
pub enum DynamoReply {
    ExpiredToken,
    AccessDenied,
}

#[derive(Debug)]
struct State {
    dynamo_script: VecDeque<DynamoReply>,
    dynamo_requests: Vec<DynamoRequest>,
    default: Reply,
    script: VecDeque<Reply>,
    latency: Duration,
    requests: Vec<Request>,
    issued: u64,
    plant_secrets: bool,
}

/// The fake STS. Clone it freely: clones share state.
#[derive(Debug, Clone)]
pub struct FakeSts {
    state: Arc<Mutex<State>>,
    time: SharedTimeSource,
    sleep: SharedAsyncSleep,
}

impl FakeSts {
    pub fn new(time: impl TimeSource + 'static, sleep: impl AsyncSleep + 'static) -> Self {
        FakeSts {
            state: Arc::new(Mutex::new(State {
                dynamo_script: VecDeque::new(),
                dynamo_requests: Vec::new(),
                default: Reply::Ok(Duration::from_secs(3600)),
                script: VecDeque::new(),
                latency: Duration::ZERO,
                requests: Vec::new(),
                issued: 0,
                plant_secrets: false,
            })),
            time: SharedTimeSource::new(time),
            sleep: SharedAsyncSleep::new(sleep),
        }
    }

    /// Answer every later request this way (after any scripted replies).
    pub fn set(&self, reply: Reply) {
        self.state.lock().unwrap().default = reply;
    }

    /// Answer the next requests with these, in order.
    pub fn script(&self, replies: impl IntoIterator<Item = Reply>) {
        self.state.lock().unwrap().script.extend(replies);
    }

    /// Plant secrets in every STS error body, outside the parsed code and message: the secret
    /// key and session token `secrets_of(PLANTED)` and the request's ExternalId.
    pub fn plant_secrets(&self, on: bool) {
        self.state.lock().unwrap().plant_secrets = on;
    }

    /// Every STS answer takes this long (on the injected sleep); DynamoDB answers at once.
    pub fn set_latency(&self, latency: Duration) {
        self.state.lock().unwrap().latency = latency;
    }

    /// Answer the next DynamoDB requests with these, in order.
    pub fn script_dynamo(&self, replies: impl IntoIterator<Item = DynamoReply>) {
        self.state.lock().unwrap().dynamo_script.extend(replies);
    }

    /// DynamoDB requests received so far.
    pub fn dynamo_requests(&self) -> Vec<DynamoRequest> {
        self.state.lock().unwrap().dynamo_requests.clone()
    }

    /// STS HTTP requests received so far.
    pub fn requests(&self) -> Vec<Request> {
        self.state.lock().unwrap().requests.clone()
    }

    pub fn request_count(&self) -> usize {
        self.state.lock().unwrap().requests.len()
    }

    /// Successful AssumeRole answers so far.
    pub fn issued(&self) -> u64 {
        self.state.lock().unwrap().issued
    }

    /// The secret access key and session token the fake issues as number `n` (1-based): tests
    /// look for these in logs.
    pub fn secrets_of(n: u64) -> (String, String) {
        (
            format!("fakeSecretKey{n:04}wJalrXUtnFEMIK7MDENG"),
            format!("fakeSessionToken{n:04}IQoJb3JpZ2luX2VjEMj"),
        )
    }

    /// The issue number whose secrets `plant_secrets` plants.
    pub const PLANTED: u64 = 9999;

    pub fn access_key_of(n: u64) -> String {
        format!("ASIAFAKE{n:012}")
    }

    pub fn http_client(&self) -> SharedHttpClient {
        SharedHttpClient::new(self.clone())
    }

    /// Account B's SdkConfig aimed at this fake: static source keys, the injected clock and
    /// sleep, and the STS client's attempts pinned to `max_attempts` with 10 ms backoff.
    pub fn sdk_config(&self, max_attempts: u32) -> SdkConfig {
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
            .retry_config(
                RetryConfig::standard()
                    .with_max_attempts(max_attempts)
                    .with_initial_backoff(Duration::from_millis(10)),
            )
            .build()
    }

    fn answer(&self, request: &HttpRequest) -> Option<(Duration, u16, String)> {
        let body = request
            .body()
            .bytes()
            .map(|b| String::from_utf8_lossy(b).into_owned())
            .unwrap_or_default();
        let params = parse_form(&body);
        let auth = request.headers().get("authorization").unwrap_or("");
        let signed_with = auth
            .split("Credential=")
            .nth(1)
            .and_then(|c| c.split('/').next())
            .unwrap_or("")
            .to_owned();
        let had_session_token = request.headers().get("x-amz-security-token").is_some();
        let now = self.time.now();
        let mut st = self.state.lock().unwrap();
        if let Some(target) = request.headers().get("x-amz-target") {
            st.dynamo_requests.push(DynamoRequest {
                target: target.to_owned(),
                uri: request.uri().to_owned(),
                signed_with,
            });
            let (status, body) = match st.dynamo_script.pop_front() {
                None => (200, "{}".to_owned()),
                Some(DynamoReply::ExpiredToken) => (
                    400,
                    r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"The security token included in the request is expired"}"#.to_owned(),
                ),
                Some(DynamoReply::AccessDenied) => (
                    400,
                    r#"{"__type":"com.amazon.coral.service#AccessDeniedException","message":"not authorized to perform: dynamodb:GetItem"}"#.to_owned(),
                ),
            };
            // DynamoDB answers at once; the latency setting is STS's.
            return Some((Duration::ZERO, status, body));
        }
        let duration: Option<u64> = params.get("DurationSeconds").and_then(|d| d.parse().ok());
        st.requests.push(Request {
            params: params.clone(),
            signed_with,
            had_session_token,
            at: now,
        });
        let reply = st.script.pop_front().unwrap_or_else(|| st.default.clone());
        let latency = st.latency;
        let (status, body) = match reply {
            Reply::Ok(lifetime) => {
                st.issued += 1;
                (200, credentials_xml(st.issued, now + lifetime, &params))
            }
            Reply::AlreadyExpired => {
                st.issued += 1;
                (
                    200,
                    credentials_xml(st.issued, now - Duration::from_secs(1), &params),
                )
            }
            Reply::ChainingCapped(lifetime) => {
                if had_session_token && duration.is_some_and(|d| d > 3600) {
                    (
                        400,
                        error_xml(
                            "Sender",
                            "ValidationError",
                            "The requested DurationSeconds exceeds the 1 hour session limit for \
                             roles assumed by role chaining.",
                        ),
                    )
                } else {
                    st.issued += 1;
                    (200, credentials_xml(st.issued, now + lifetime, &params))
                }
            }
            Reply::Throttling => (400, error_xml("Sender", "Throttling", "Rate exceeded")),
            Reply::Internal => (
                500,
                error_xml("Receiver", "InternalFailure", "internal error"),
            ),
            Reply::AccessDenied => (
                403,
                error_xml(
                    "Sender",
                    "AccessDenied",
                    &format!(
                        "User: arn:aws:iam::222222222222:user/app is not authorized to perform: \
                         sts:AssumeRole on resource: {}",
                        params.get("RoleArn").map(String::as_str).unwrap_or("")
                    ),
                ),
            ),
            Reply::Validation(message) => (400, error_xml("Sender", "ValidationError", &message)),
            Reply::Hang => return None,
            Reply::Truncated => {
                let full = credentials_xml(st.issued + 1, now + Duration::from_secs(3600), &params);
                // Cut inside the expiration, after the secrets: it cannot be parsed.
                let cut = full.find("</Expiration>").expect("has an expiration");
                (200, full[..cut - 4].to_owned())
            }
            Reply::AccessDeniedEchoingExternalId => (
                403,
                error_xml(
                    "Sender",
                    "AccessDenied",
                    &format!(
                        "User: arn:aws:iam::222222222222:user/app is not authorized to perform: \
                         sts:AssumeRole on resource: {} with ExternalId {}",
                        params.get("RoleArn").map(String::as_str).unwrap_or(""),
                        params.get("ExternalId").map(String::as_str).unwrap_or("")
                    ),
                ),
            ),
        };
        let body = if st.plant_secrets && status != 200 {
            let (secret, token) = FakeSts::secrets_of(FakeSts::PLANTED);
            let external_id = params.get("ExternalId").map(String::as_str).unwrap_or("");
            body.replace(
                "<RequestId>",
                &format!(
                    "<Detail><SecretAccessKey>{secret}</SecretAccessKey><SessionToken>{token}</SessionToken><ExternalId>{external_id}</ExternalId></Detail><RequestId>"
                ),
            )
        } else {
            body
        };
        Some((latency, status, body))
    }
}

impl HttpConnector for FakeSts {
    fn call(&self, request: HttpRequest) -> HttpConnectorFuture {
        let Some((latency, status, body)) = self.answer(&request) else {
            return HttpConnectorFuture::new(std::future::pending());
        };
        let sleep = self.sleep.clone();
        HttpConnectorFuture::new(async move {
            if !latency.is_zero() {
                sleep.sleep(latency).await;
            }
            let content_type = if body.starts_with('{') {
                "application/x-amz-json-1.0"
            } else {
                "text/xml"
            };
            let mut response = HttpResponse::new(
                StatusCode::try_from(status).expect("valid status"),
                SdkBody::from(body),
            );
            response.headers_mut().insert("content-type", content_type);
            if status != 200 && content_type == "text/xml" {
                // STS sends its request id as a header too.
                response
                    .headers_mut()
                    .insert("x-amzn-requestid", "fake-error");
            }
            Ok(response)
        })
    }
}

impl HttpClient for FakeSts {
    fn http_connector(
        &self,
        _settings: &HttpConnectorSettings,
        _components: &RuntimeComponents,
    ) -> SharedHttpConnector {
        SharedHttpConnector::new(self.clone())
    }
}

fn credentials_xml(n: u64, expiry: SystemTime, params: &BTreeMap<String, String>) -> String {
    let (secret, token) = FakeSts::secrets_of(n);
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
    format!(
        r#"<AssumeRoleResponse xmlns="https://sts.amazonaws.com/doc/2011-06-15/">
  <AssumeRoleResult>
    <AssumedRoleUser>
      <AssumedRoleId>AROAFAKE:{session}</AssumedRoleId>
      <Arn>arn:aws:sts::{account}:assumed-role/{role}/{session}</Arn>
    </AssumedRoleUser>
    <Credentials>
      <AccessKeyId>{akid}</AccessKeyId>
      <SecretAccessKey>{secret}</SecretAccessKey>
      <SessionToken>{token}</SessionToken>
      <Expiration>{expiration}</Expiration>
    </Credentials>
  </AssumeRoleResult>
  <ResponseMetadata><RequestId>fake-{n}</RequestId></ResponseMetadata>
</AssumeRoleResponse>"#,
        akid = FakeSts::access_key_of(n),
    )
}

#[path = "sts_wire.rs"]
mod sts_wire;
use sts_wire::{error_xml, parse_form};
