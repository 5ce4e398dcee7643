//! Cluster endpoint URLs: `dax://host[:port]` and `daxs://host[:port]` (docs/dax-protocol.md §1.1),
//! and the region a cluster hostname names.

use crate::ConfigError;

/// Default port of `dax://` endpoints.
const DAX_PORT: u16 = 8111;
/// Default port of `daxs://` endpoints.
const DAXS_PORT: u16 = 9111;

/// A parsed cluster discovery endpoint: `dax://host[:port]` or `daxs://host[:port]`.
///
/// ```
/// use xacct_dax_transport::ClusterEndpoint;
///
/// let e = ClusterEndpoint::parse("daxs://orders.abc123.dax-clusters.eu-west-1.amazonaws.com")?;
/// assert!(e.tls());
/// assert_eq!(e.port(), 9111);
/// assert_eq!(e.region(), Some("eu-west-1"));
/// # Ok::<(), xacct_dax_transport::ConfigError>(())
/// ```
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ClusterEndpoint {
    /// `daxs://`: TLS to every node, certificates checked against [`host`](Self::host).
    pub(crate) tls: bool,
    /// The hostname (or IP literal), without brackets.
    pub(crate) host: String,
    pub(crate) port: u16,
}

impl ClusterEndpoint {
    /// Parses `dax://host[:port]` / `daxs://host[:port]` (a trailing `/` is allowed; nothing
    /// else may follow the authority). The default ports are 8111 and 9111.
    ///
    /// ```
    /// let e = xacct_dax_transport::ClusterEndpoint::parse("dax://127.0.0.1:18111")?;
    /// assert_eq!((e.host(), e.port(), e.tls()), ("127.0.0.1", 18111, false));
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn parse(url: &str) -> Result<Self, ConfigError> {
        let bad = |why: &str| {
            ConfigError::invalid(
                "DAX endpoint",
                format!("`{url}`: {why} (expected dax://<cluster endpoint>[:port] or daxs://<cluster endpoint>[:port])"),
            )
        };
        let (tls, rest) = if let Some(rest) = url.strip_prefix("daxs://") {
            (true, rest)
        } else if let Some(rest) = url.strip_prefix("dax://") {
            (false, rest)
        } else {
            return Err(bad("the scheme must be dax:// or daxs://"));
        };
        let rest = rest.strip_suffix('/').unwrap_or(rest);
        if rest.contains(['/', '?', '#', '@']) {
            return Err(bad("only a host and a port may follow the scheme"));
        }
        let (host, port) = if let Some(v6) = rest.strip_prefix('[') {
            let (h, after) = v6
                .split_once(']')
                .ok_or_else(|| bad("unclosed `[` in an IPv6 address"))?;
            (h, after.strip_prefix(':'))
        } else {
            match rest.rsplit_once(':') {
                Some((h, p)) => (h, Some(p)),
                None => (rest, None),
            }
        };
        if host.is_empty() {
            return Err(bad("the host is missing"));
        }
        if !host
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b'.' | b'-' | b'_' | b':'))
        {
            return Err(bad("the host has characters a hostname cannot have"));
        }
        let port = match port {
            None => {
                if tls {
                    DAXS_PORT
                } else {
                    DAX_PORT
                }
            }
            Some(p) => p
                .parse::<u16>()
                .ok()
                .filter(|p| *p != 0)
                .ok_or_else(|| bad("the port must be a number from 1 to 65535"))?,
        };
        Ok(ClusterEndpoint {
            tls,
            host: host.to_owned(),
            port,
        })
    }

    /// The region in a cluster hostname: `<name>.<id>.dax-clusters.<region>.amazonaws.com`
    /// (`.com.cn` too), else `None`.
    ///
    /// ```
    /// let e = xacct_dax_transport::ClusterEndpoint::parse("dax://127.0.0.1")?;
    /// assert_eq!(e.region(), None);
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn region(&self) -> Option<&str> {
        let labels: Vec<&str> = self.host.split('.').collect();
        let at = labels.iter().position(|l| *l == "dax-clusters")?;
        let region = labels.get(at + 1)?;
        let tail = labels.get(at + 2)?;
        (*tail == "amazonaws" && !region.is_empty()).then_some(region)
    }

    /// Whether it is `daxs://`: TLS to every node, certificates checked against
    /// [`host`](Self::host).
    ///
    /// ```
    /// assert!(!xacct_dax_transport::ClusterEndpoint::parse("dax://h")?.tls());
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn tls(&self) -> bool {
        self.tls
    }

    /// The hostname (or IP literal, without brackets).
    ///
    /// ```
    /// assert_eq!(xacct_dax_transport::ClusterEndpoint::parse("dax://[::1]:9000")?.host(), "::1");
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port (8111 for `dax://`, 9111 for `daxs://` when the URL names none).
    ///
    /// ```
    /// assert_eq!(xacct_dax_transport::ClusterEndpoint::parse("dax://h")?.port(), 8111);
    /// # Ok::<(), xacct_dax_transport::ConfigError>(())
    /// ```
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The URL as the SDK's endpoint (`dax://host:port`).
    pub(crate) fn to_url(&self) -> String {
        let scheme = if self.tls { "daxs" } else { "dax" };
        if self.host.contains(':') {
            format!("{scheme}://[{}]:{}", self.host, self.port)
        } else {
            format!("{scheme}://{}:{}", self.host, self.port)
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn schemes_and_default_ports() {
        let u =
            ClusterEndpoint::parse("dax://my.abc.dax-clusters.eu-west-1.amazonaws.com").unwrap();
        assert_eq!((u.tls, u.port), (false, 8111));
        assert_eq!(u.region(), Some("eu-west-1"));
        let u =
            ClusterEndpoint::parse("daxs://my.abc.dax-clusters.us-east-2.amazonaws.com/").unwrap();
        assert_eq!((u.tls, u.port), (true, 9111));
        assert_eq!(u.region(), Some("us-east-2"));
        let u = ClusterEndpoint::parse("dax://127.0.0.1:18111").unwrap();
        assert_eq!(
            (u.host.as_str(), u.port, u.region()),
            ("127.0.0.1", 18111, None)
        );
        let u = ClusterEndpoint::parse("daxs://[::1]:9000").unwrap();
        assert_eq!((u.host.as_str(), u.port), ("::1", 9000));
        assert_eq!(u.to_url(), "daxs://[::1]:9000");
    }

    #[test]
    fn bad_urls_are_typed_errors_that_say_what_to_do() {
        for (url, what) in [
            ("http://x", "the scheme must be dax:// or daxs://"),
            ("x:8111", "the scheme must be dax:// or daxs://"),
            ("dax://", "the host is missing"),
            ("dax://h:0", "the port must be a number"),
            ("dax://h:99999", "the port must be a number"),
            ("dax://h:80/path", "only a host and a port"),
            ("dax://user@h", "only a host and a port"),
            ("dax://h h", "characters a hostname cannot have"),
            ("dax://[::1", "unclosed"),
        ] {
            let e = ClusterEndpoint::parse(url).unwrap_err();
            assert_eq!(e.what(), "DAX endpoint", "{url}");
            let msg = e.to_string();
            assert!(msg.contains(what), "{url}: {msg}");
            assert!(msg.contains(&format!("`{url}`")), "{msg}");
            assert!(msg.contains("expected dax://"), "{msg}");
        }
    }
}
