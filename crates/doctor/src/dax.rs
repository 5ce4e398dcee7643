//! The DAX hops: name, TCP, TLS, `authorizeConnection` + `endpoints`, every node, a GetItem.
//!
//! The first four run on one connection opened here with the codec (so each failure is seen
//! where it happens); the request goes through the DAX transport, as a service's would.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use aws_config::retry::RetryConfig;
use aws_sdk_dynamodb::error::ProvideErrorMetadata;
use aws_types::SdkConfig;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpStream;
use xacct_dax_protocol::codec::{
    decode_endpoints_response, encode_endpoints_request, encode_preamble, sign_authorization,
    Endpoint, Method, Preamble, ResponseFramer, SessionId, SigningInputs, DAX_HOST, ROLE_LEADER,
};
use xacct_dax_transport::{DaxError, DaxOptions, DaxTransport};

use crate::aws::{role_config, Role, Schema};
use crate::budget::{secs, Budget};
use crate::fixes;
use crate::{Cause, Check, CheckId, Options};

const DNS_TIMEOUT: Duration = Duration::from_secs(2);
const CONNECT_TIMEOUT: Duration = Duration::from_secs(3);
const TLS_TIMEOUT: Duration = Duration::from_secs(3);
const AUTH_TIMEOUT: Duration = Duration::from_secs(3);
const NODE_TIMEOUT: Duration = Duration::from_secs(2);
const REQUEST_TIMEOUT: Duration = Duration::from_secs(4);
const MAX_REPLY: usize = 1 << 20;

trait Stream: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Stream for T {}

/// A parsed `dax://` / `daxs://` endpoint.
#[derive(Debug, Clone)]
struct Url {
    tls: bool,
    host: String,
    port: u16,
    /// The region the cluster hostname names (the transport's rule).
    region: Option<String>,
}

impl Url {
    /// The transport's own parse (one grammar for `dax://` URLs).
    fn parse(endpoint: &str) -> Result<Url, String> {
        let e = xacct_dax_transport::ClusterEndpoint::parse(endpoint).map_err(|e| e.to_string())?;
        Ok(Url {
            tls: e.tls(),
            host: e.host().to_owned(),
            port: e.port(),
            region: e.region().map(str::to_owned),
        })
    }

    /// `<cluster>` of `<cluster>.<id>.dax-clusters.<region>.amazonaws.com`.
    fn cluster_name(&self) -> Option<&str> {
        self.host
            .contains(".dax-clusters.")
            .then(|| self.host.split('.').next())
            .flatten()
    }

    fn region(&self) -> Option<&str> {
        self.region.as_deref()
    }
}

fn skip_all(from: usize, why: &str) -> Vec<Check> {
    CheckId::ALL[4 + from..]
        .iter()
        .map(|&id| Check::skip(id, why))
        .collect()
}

/// The six DAX checks, in order.
pub(crate) async fn checks(
    sdk: &SdkConfig,
    options: &Options,
    role: Option<&Role>,
    schema: Option<&Schema>,
    budget: &Budget,
) -> Vec<Check> {
    let Some(endpoint) = options.dax.as_deref() else {
        return skip_all(0, "skipped: no --dax given");
    };
    let account_b = role.map(|r| r.account_b.as_str());
    let mut out = Vec::with_capacity(6);
    let url = match Url::parse(endpoint) {
        Ok(u) => u,
        Err(problem) => {
            out.push(Check::fail(
                CheckId::DaxDns,
                Cause::DaxEndpointInvalid,
                problem,
                "pass the cluster endpoint as shown by aws dax describe-clusters \
                 (ClusterDiscoveryEndpoint): dax://<name>.<id>.dax-clusters.<region>.amazonaws.com:8111, \
                 or daxs://...:9111 for a cluster with encryption in transit",
            ));
            out.extend(skip_all(1, "skipped: the endpoint is not valid"));
            return out;
        }
    };

    // dax_dns
    let addrs: Vec<SocketAddr> = match budget
        .limit(
            DNS_TIMEOUT,
            tokio::net::lookup_host((url.host.as_str(), url.port)),
        )
        .await
    {
        Ok(Ok(a)) => a.collect(),
        Ok(Err(e)) => {
            out.push(dns_failed(&url, &e.to_string()));
            out.extend(skip_all(1, "skipped: the endpoint's name does not resolve"));
            return out;
        }
        Err(limit) => {
            out.push(dns_failed(
                &url,
                &format!("no answer within {}", secs(limit)),
            ));
            out.extend(skip_all(1, "skipped: the endpoint's name does not resolve"));
            return out;
        }
    };
    if addrs.is_empty() {
        out.push(dns_failed(&url, "the name has no address"));
        out.extend(skip_all(1, "skipped: the endpoint's name does not resolve"));
        return out;
    }
    out.push(Check::pass(
        CheckId::DaxDns,
        format!(
            "{} resolves to {}",
            url.host,
            addrs
                .iter()
                .map(|a| a.ip().to_string())
                .collect::<Vec<_>>()
                .join(", ")
        ),
    ));

    // dax_connect
    let (tcp, addr) = match connect_any(&addrs, budget).await {
        Ok(v) => v,
        Err((addr, ConnectError::Refused(why))) => {
            out.push(Check::fail(
                CheckId::DaxConnect,
                Cause::DaxConnectionRefused,
                format!("{addr} refused the connection: {why}"),
                format!(
                    "nothing listens at {addr}: check the port (dax:// listens on 8111, daxs:// on \
                     9111; a cluster with encryption in transit has only 9111) and that the \
                     cluster is available (aws dax describe-clusters --cluster-names {} --query \
                     Clusters[0].Status, in account A)",
                    url.cluster_name().unwrap_or("<cluster name>")
                ),
            ));
            out.extend(skip_all(2, "skipped: no connection to the endpoint"));
            return out;
        }
        Err((addr, ConnectError::Dropped(why))) => {
            out.push(Check::fail(
                CheckId::DaxConnect,
                Cause::DaxConnectionTimeout,
                format!(
                    "the connection to {addr} timed out ({why}): packets are dropped on the way \
                     (security group, network ACL or a missing peering route)"
                ),
                fixes::security_group_fix(addr.port(), account_b),
            ));
            out.extend(skip_all(2, "skipped: no connection to the endpoint"));
            return out;
        }
    };
    out.push(Check::pass(
        CheckId::DaxConnect,
        format!("TCP connection to {addr} opened"),
    ));

    // dax_tls
    let io: Box<dyn Stream> = if url.tls {
        match tls_handshake(&url, options, tcp, budget).await {
            Ok(s) => {
                out.push(Check::pass(
                    CheckId::DaxTls,
                    format!(
                        "TLS handshake with {addr} done; the certificate names {}",
                        url.host
                    ),
                ));
                Box::new(s)
            }
            Err(why) => {
                out.push(tls_failed(&url, addr, &why));
                out.extend(skip_all(3, "skipped: the TLS handshake failed"));
                return out;
            }
        }
    } else {
        out.push(Check::skip(
            CheckId::DaxTls,
            "skipped: dax:// is plaintext (daxs:// for a cluster with encryption in transit)",
        ));
        Box::new(tcp)
    };

    // dax_auth
    let Some(role) = role else {
        out.extend(skip_all(
            3,
            "skipped: no credentials for account A (AssumeRole failed)",
        ));
        return out;
    };
    let region = signing_region(&url, sdk);
    let nodes = match authorize(io, &region, role, &url, budget).await {
        Ok(nodes) => nodes,
        Err(check) => {
            out.push(*check);
            out.extend(skip_all(4, "skipped: the connection was not authorized"));
            return out;
        }
    };
    out.push(Check::pass(
        CheckId::DaxAuth,
        format!(
            "authorizeConnection as {} accepted (signed for {region}); the cluster lists {} node(s)",
            role_session(role),
            nodes.len()
        ),
    ));

    // dax_nodes
    out.push(check_nodes(&nodes, &url, account_b, budget).await);

    // dax_request
    out.push(request(sdk, options, &url, role, schema, &region, budget).await);
    out
}

fn role_session(role: &Role) -> String {
    format!("the session of role {}", role.arn.name)
}

fn dns_failed(url: &Url, why: &str) -> Check {
    Check::fail(
        CheckId::DaxDns,
        Cause::DaxDnsFailed,
        format!("{} does not resolve: {why}", url.host),
        format!(
            "check the name against aws dax describe-clusters --query \
             Clusters[].ClusterDiscoveryEndpoint (account A); the cluster's name resolves only \
             through the Amazon DNS of a VPC that can see it: enable DNS resolution \
             (aws ec2 modify-vpc-attribute --vpc-id <vpc-id> --enable-dns-support), and across \
             VPCs share the resolution (Route 53 Resolver rules or a private hosted zone \
             association for {})",
            url.host
        ),
    )
}

fn tls_failed(url: &Url, addr: SocketAddr, why: &str) -> Check {
    let mut fix = String::new();
    if why.contains("NotValidForName") || why.contains("not valid for") {
        fix.push_str(&format!(
            "connect with a name the certificate holds: the cluster's own endpoint \
             (daxs://<name>.<id>.dax-clusters.<region>.amazonaws.com:9111), not an IP address, a \
             CNAME or a node's address (`{}` is not in the certificate). ",
            url.host
        ));
    } else if why.contains("UnknownIssuer") || why.contains("issuer") {
        fix.push_str(
            "trust the CA that signed the cluster's certificate: DAX uses Amazon's public CAs, \
             which must be in this host's trust store (install ca-certificates); a private CA: \
             --dax-ca FILE. ",
        );
    }
    fix.push_str(
        "The scheme must match the cluster: daxs:// (port 9111) for a cluster with encryption in \
         transit, dax:// (port 8111) for one without.",
    );
    Check::fail(
        CheckId::DaxTls,
        Cause::DaxTlsFailed,
        format!(
            "TLS handshake with {addr} failed (certificate checked against `{}`): {why}",
            url.host
        ),
        fix,
    )
}

enum ConnectError {
    Refused(String),
    Dropped(String),
}

async fn connect_one(
    addr: SocketAddr,
    limit: Duration,
    budget: &Budget,
) -> Result<TcpStream, ConnectError> {
    match budget.limit(limit, TcpStream::connect(addr)).await {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => {
            use std::io::ErrorKind as K;
            match e.kind() {
                K::TimedOut | K::HostUnreachable | K::NetworkUnreachable => {
                    Err(ConnectError::Dropped(e.to_string()))
                }
                _ => Err(ConnectError::Refused(e.to_string())),
            }
        }
        Err(limit) => Err(ConnectError::Dropped(format!(
            "no answer within {}",
            secs(limit)
        ))),
    }
}

async fn connect_any(
    addrs: &[SocketAddr],
    budget: &Budget,
) -> Result<(TcpStream, SocketAddr), (SocketAddr, ConnectError)> {
    let mut last = None;
    for &addr in addrs.iter().take(3) {
        match connect_one(addr, CONNECT_TIMEOUT, budget).await {
            Ok(s) => {
                let _ = s.set_nodelay(true);
                return Ok((s, addr));
            }
            Err(e) => {
                let dropped = matches!(e, ConnectError::Dropped(_));
                last = Some((addr, e));
                if dropped {
                    // each further address would cost another timeout
                    break;
                }
            }
        }
    }
    Err(last.unwrap_or((addrs[0], ConnectError::Refused("no address to try".into()))))
}

async fn tls_handshake(
    url: &Url,
    options: &Options,
    tcp: TcpStream,
    budget: &Budget,
) -> Result<tokio_rustls::client::TlsStream<TcpStream>, String> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add_parsable_certificates(rustls_native_certs::load_native_certs().certs);
    if let Some(pem) = &options.dax_ca_pem {
        for cert in CertificateDer::pem_slice_iter(pem) {
            let cert = cert.map_err(|e| format!("the --dax-ca file does not parse: {e}"))?;
            roots
                .add(cert)
                .map_err(|e| format!("the --dax-ca certificate is rejected: {e}"))?;
        }
    }
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("TLS setup failed: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    let name = ServerName::try_from(url.host.clone())
        .map_err(|_| format!("`{}` is not a valid TLS server name", url.host))?;
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    match budget
        .limit(TLS_TIMEOUT, connector.connect(name, tcp))
        .await
    {
        Ok(Ok(s)) => Ok(s),
        Ok(Err(e)) => Err(e.to_string()),
        Err(limit) => Err(format!(
            "no handshake within {} (is the port plaintext? use dax://)",
            secs(limit)
        )),
    }
}

fn signing_region(url: &Url, sdk: &SdkConfig) -> String {
    url.region()
        .map(str::to_owned)
        .or_else(|| sdk.region().map(|r| r.as_ref().to_owned()))
        .unwrap_or_else(|| "us-east-1".into())
}

fn auth_fix(region: &str, role: &Role, url: &Url) -> String {
    format!(
        "DAX checks the SigV4 signature of the role's session: the credentials must be current \
         (refresh them before they expire), signed for the cluster's region ({region}: pass \
         --region if the endpoint's name does not carry it), and this host's clock must be right \
         (within 5 minutes; check chrony / NTP). If the cluster is in another region or account \
         than the role, use a role of account A ({acct}) in the cluster's region; the role also \
         needs dax: actions on the cluster (see dax_request): \
         arn:aws:dax:{region}:{acct}:cache/{cluster}",
        acct = role.arn.account,
        cluster = url.cluster_name().unwrap_or("<cluster name>"),
    )
}

async fn authorize(
    mut io: Box<dyn Stream>,
    region: &str,
    role: &Role,
    url: &Url,
    budget: &Budget,
) -> Result<Vec<Endpoint>, Box<Check>> {
    let now = budget.time.now();
    let creds = &role.credentials;
    let ua = format!("xacct-doctor/{}", env!("CARGO_PKG_VERSION"));
    let session: Vec<u8> = now
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.as_nanos().to_be_bytes().to_vec())
        .unwrap_or_else(|_| vec![0; 16]);
    let mut bytes = Vec::with_capacity(512);
    encode_preamble(
        &Preamble {
            session_id: SessionId::Bytes(session),
            user_agent: Some(ua.clone()),
        },
        &mut bytes,
    );
    sign_authorization(
        &SigningInputs {
            access_key_id: creds.access_key_id(),
            secret_access_key: creds.secret_access_key(),
            session_token: creds.session_token(),
            region,
            time: now,
            host: DAX_HOST,
        },
        Some(&ua),
    )
    .encode(&mut bytes);
    encode_endpoints_request(&mut bytes);
    let exchange = async {
        io.write_all(&bytes).await?;
        io.flush().await?;
        let mut buf = Vec::with_capacity(4096);
        let mut framer = ResponseFramer::new(Method::Endpoints);
        let mut chunk = [0u8; 4096];
        loop {
            match framer.frame_len(&buf) {
                Ok(Some(n)) => {
                    buf.truncate(n);
                    return Ok(buf);
                }
                Ok(None) => {}
                Err(e) => {
                    return Err(std::io::Error::new(
                        std::io::ErrorKind::InvalidData,
                        format!("the reply does not decode: {e}"),
                    ))
                }
            }
            if buf.len() > MAX_REPLY {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::InvalidData,
                    "the reply is too long",
                ));
            }
            let n = io.read(&mut chunk).await?;
            if n == 0 {
                return Err(std::io::Error::new(
                    std::io::ErrorKind::UnexpectedEof,
                    "the node closed the connection before replying",
                ));
            }
            buf.extend_from_slice(&chunk[..n]);
        }
    };
    let protocol = |why: String| {
        Box::new(Check::fail(
            CheckId::DaxAuth,
            Cause::DaxProtocolError,
            format!("authorizeConnection + endpoints got no valid reply: {why}"),
            "make sure the endpoint is a DAX cluster (aws dax describe-clusters, \
             ClusterDiscoveryEndpoint) and that the scheme matches it: daxs:// (9111) for a \
             cluster with encryption in transit, dax:// (8111) for one without",
        ))
    };
    let frame = match budget.limit(AUTH_TIMEOUT, exchange).await {
        Ok(Ok(f)) => f,
        Ok(Err(e)) => return Err(protocol(e.to_string())),
        Err(limit) => return Err(protocol(format!("no reply within {}", secs(limit)))),
    };
    match decode_endpoints_response(&frame) {
        Ok(Ok(nodes)) => Ok(nodes),
        Ok(Err(e)) if e.is_auth_error() || e.message.contains("authenticat") => {
            Err(Box::new(Check::fail(
                CheckId::DaxAuth,
                Cause::DaxAuthRejected,
                format!(
                    "the cluster refused authorizeConnection for {} (key {}): {}",
                    role_session(role),
                    mask(creds.access_key_id()),
                    e.message
                ),
                auth_fix(region, role, url),
            )))
        }
        Ok(Err(e)) => Err(protocol(format!(
            "the cluster answered an error: {}",
            e.message
        ))),
        Err(e) => Err(protocol(format!("the reply does not decode: {e}"))),
    }
}

fn mask(key_id: &str) -> String {
    if key_id.len() > 8 {
        format!("{}...{}", &key_id[..4], &key_id[key_id.len() - 4..])
    } else {
        "****".into()
    }
}

async fn check_nodes(
    nodes: &[Endpoint],
    url: &Url,
    account_b: Option<&str>,
    budget: &Budget,
) -> Check {
    if nodes.is_empty() {
        return Check::fail(
            CheckId::DaxNodes,
            Cause::DaxNodeUnreachable,
            "the cluster lists no node",
            format!(
                "wait for the cluster to be available (aws dax describe-clusters --cluster-names \
                 {} in account A) and check that it has nodes",
                url.cluster_name().unwrap_or("<cluster name>")
            ),
        );
    }
    let probes = nodes.iter().map(|n| async move {
        let addr = SocketAddr::new(n.address, n.port);
        let r = connect_one(addr, NODE_TIMEOUT, budget).await;
        (n, addr, r)
    });
    let results = futures_util::future::join_all(probes).await;
    let describe = |n: &Endpoint, addr: SocketAddr| {
        format!(
            "node {} {addr} ({}{})",
            n.node_id,
            n.availability_zone.as_deref().unwrap_or("?"),
            if n.role == ROLE_LEADER {
                ", leader"
            } else {
                ""
            }
        )
    };
    let mut bad = Vec::new();
    let mut good = Vec::new();
    let mut port = url.port;
    let mut any_dropped = false;
    for (n, addr, r) in &results {
        match r {
            Ok(_) => good.push(describe(n, *addr)),
            Err(e) => {
                port = addr.port();
                let why = match e {
                    ConnectError::Refused(w) => format!("refused: {w}"),
                    ConnectError::Dropped(w) => {
                        any_dropped = true;
                        format!("dropped: {w}")
                    }
                };
                bad.push(format!("{}: {why}", describe(n, *addr)));
            }
        }
    }
    if bad.is_empty() {
        return Check::pass(
            CheckId::DaxNodes,
            format!("all {} node(s) reachable: {}", good.len(), good.join("; ")),
        );
    }
    let mut fix = String::from(
        "every node the cluster lists must be reachable from this host (a client talks to all \
         of them): each node's subnet (one per availability zone) needs the route and the \
         security-group rule, not only the discovery endpoint's.\n",
    );
    if any_dropped {
        fix.push_str(&fixes::security_group_fix(port, account_b));
    } else {
        fix.push_str(&format!(
            "A refused node is down or restarting: check aws dax describe-clusters \
             --cluster-names {} (NodeStatus) in account A; if it stays so, reboot it \
             (aws dax reboot-node). Where packets are dropped instead: {}",
            url.cluster_name().unwrap_or("<cluster name>"),
            fixes::security_group_fix(port, account_b)
        ));
    }
    Check::fail(
        CheckId::DaxNodes,
        Cause::DaxNodeUnreachable,
        format!(
            "{} of {} node(s) unreachable from this host: {}",
            bad.len(),
            results.len(),
            bad.join("; ")
        ),
        fix,
    )
}

async fn request(
    sdk: &SdkConfig,
    options: &Options,
    url: &Url,
    role: &Role,
    schema: Option<&Schema>,
    region: &str,
    budget: &Budget,
) -> Check {
    let id = CheckId::DaxRequest;
    let Some(schema) = schema else {
        return Check::skip(
            id,
            if options.table.is_some() {
                "skipped: the table's key schema is unknown (see the table check)"
            } else {
                "skipped: no --table given (the probe reads a key of that table)"
            },
        );
    };
    let endpoint = options.dax.as_deref().unwrap_or_default();
    let a = role_config(sdk, role);
    let mut dax_options = DaxOptions::new()
        .connect_timeout(Duration::from_secs(2))
        .request_timeout(Duration::from_secs(3))
        .signing_region(region);
    if let Some(pem) = &options.dax_ca_pem {
        dax_options = dax_options.ca_pem(pem.clone());
    }
    let transport = match DaxTransport::builder(endpoint)
        .configure(&a)
        .credentials_provider(role.credentials.clone())
        .options(dax_options)
        .build()
    {
        Ok(t) => t,
        Err(e) => {
            return Check::fail(
                id,
                Cause::DaxRequestFailed,
                format!("the DAX client cannot be built: {e}"),
                "fix the endpoint (dax://host:8111 or daxs://host:9111) and the region",
            )
        }
    };
    let conf = transport
        .apply(aws_sdk_dynamodb::config::Builder::from(&a))
        .retry_config(RetryConfig::standard().with_max_attempts(1))
        .build();
    let client = aws_sdk_dynamodb::Client::from_conf(conf);
    let get = client
        .get_item()
        .table_name(&schema.table)
        .set_key(Some(schema.key.clone()))
        .send();
    let cluster = url.cluster_name().unwrap_or("<cluster name>");
    let table_arn = fixes::table_arn(&role.arn, region, &schema.table);
    match budget.limit(REQUEST_TIMEOUT, get).await {
        Ok(Ok(_)) => Check::pass(
            id,
            format!(
                "GetItem on {} through DAX answered (the probe key need not exist)",
                schema.table
            ),
        ),
        Ok(Err(e)) => {
            let code = e.code().unwrap_or_default().to_owned();
            let message = e.message().unwrap_or_default().to_owned();
            if code.contains("AccessDenied") {
                return Check::fail(
                    id,
                    Cause::DaxRequestDenied,
                    format!(
                        "GetItem on {} through DAX was refused: {code}: {message}",
                        schema.table
                    ),
                    format!(
                        "in account A ({acct}): the role {role} needs the dax: actions on the \
                         cluster (aws iam put-role-policy --role-name {role} --policy-name \
                         xacct-dax --policy-document file://p.json):\n\
                         {{\"Effect\":\"Allow\",\"Action\":[\"dax:GetItem\",\"dax:BatchGetItem\",\
                         \"dax:Query\",\"dax:Scan\"],\"Resource\":\"arn:aws:dax:{region}:{acct}:cache/{cluster}\"}}\n\
                         and the cluster's service role (the IAM role DAX uses to reach DynamoDB) \
                         needs the missing DynamoDB actions on the table:\n\
                         {{\"Effect\":\"Allow\",\"Action\":[\"dynamodb:GetItem\",\
                         \"dynamodb:DescribeTable\"],\"Resource\":\"{table_arn}\"}}",
                        acct = role.arn.account,
                        role = role.arn.name,
                    ),
                );
            }
            let mut cause: Option<&(dyn std::error::Error + 'static)> = Some(&e);
            let mut dax: Option<&DaxError> = None;
            while let Some(c) = cause {
                if let Some(d) = c.downcast_ref::<DaxError>() {
                    dax = Some(d);
                    break;
                }
                cause = c.source();
            }
            let detail = format!(
                "GetItem through DAX failed: {}",
                aws_smithy_types::error::display::DisplayErrorContext(&e)
            );
            let account_b = Some(role.account_b.as_str());
            match dax {
                Some(d) if d.is_timeout() => Check::fail(
                    id,
                    Cause::DaxConnectionTimeout,
                    detail,
                    fixes::security_group_fix(url.port, account_b),
                ),
                Some(d) if d.is_tls() => Check::fail(
                    id,
                    Cause::DaxTlsFailed,
                    detail,
                    "see dax_tls: the name, the CA and the scheme must match the cluster",
                ),
                Some(d) if d.is_auth() => Check::fail(
                    id,
                    Cause::DaxAuthRejected,
                    detail,
                    auth_fix(region, role, url),
                ),
                Some(d) if d.is_connect() => Check::fail(
                    id,
                    Cause::DaxConnectionRefused,
                    detail,
                    "a node refused the connection: see dax_nodes",
                ),
                _ => Check::fail(
                    id,
                    Cause::DaxRequestFailed,
                    detail,
                    "see the error: the cluster answered but the GetItem failed",
                ),
            }
        }
        Err(limit) => Check::fail(
            id,
            Cause::DaxConnectionTimeout,
            format!("GetItem through DAX got no answer within {}", secs(limit)),
            fixes::security_group_fix(url.port, Some(role.account_b.as_str())),
        ),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn urls() {
        let u = Url::parse("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com").unwrap();
        assert!(u.tls);
        assert_eq!(u.port, 9111);
        assert_eq!(u.cluster_name(), Some("orders"));
        assert_eq!(u.region(), Some("eu-west-1"));
        let u = Url::parse("dax://10.0.0.1:8111").unwrap();
        assert!(!u.tls);
        assert_eq!((u.host.as_str(), u.port), ("10.0.0.1", 8111));
        assert_eq!(u.cluster_name(), None);
        assert!(Url::parse("https://x").is_err());
    }
}
