//! `authorizeConnection` (docs/dax-protocol.md §2): the request frame and its SigV4 signature.
//!
//! The signature is standard SigV4 over a fixed pseudo-request: `POST /`, no query, signed
//! headers exactly `host;x-amz-date` (the session token is *not* signed; it travels as its own
//! argument), host `dax.amazonaws.com`, empty payload, service `dax`. The string-to-sign itself
//! is sent to the server, which can only check the HMAC over it.
//!
//! `aws-sigv4` derives the signing key and computes the HMAC
//! ([`generate_signing_key`](aws_sigv4::sign::v4::generate_signing_key),
//! [`calculate_signature`](aws_sigv4::sign::v4::calculate_signature)). Its request signer
//! cannot be used for the rest: it signs real HTTP requests, adds the security token to the
//! signed headers, and never exposes the string-to-sign, which DAX transmits. So the
//! canonical request and string-to-sign (a dozen fixed lines) are built here. The time is an
//! input: the codec never reads a clock.

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use aws_sigv4::sign::v4::{calculate_signature, generate_signing_key};
use sha2::{Digest, Sha256};

use super::cbor::{Reader, Writer};
use super::error::CodecError;
use super::framing::{read_request_head, write_request_head};
use super::method::Method;

/// The host every official client signs (Python and Node; Go signs `https://dax.amazonaws.com`,
/// which servers accept too: they only see the string-to-sign).
pub const DAX_HOST: &str = "dax.amazonaws.com";
const SERVICE: &str = "dax";
const EMPTY_SHA256: &str = "e3b0c44298fc1c149afbf4c8996fb92427ae41e4649b934ca495991b7852b855";

/// What a signature is computed from.
#[derive(Clone)]
pub struct SigningInputs<'a> {
    /// Access key id.
    pub access_key_id: &'a str,
    /// Secret access key (never logged: this type's `Debug` redacts it).
    pub secret_access_key: &'a str,
    /// Session token, sent unsigned.
    pub session_token: Option<&'a str>,
    /// The cluster's region.
    pub region: &'a str,
    /// Signing time (taken as an input; whole seconds are used).
    pub time: SystemTime,
    /// Host in the canonical request: [`DAX_HOST`].
    pub host: &'a str,
}

impl std::fmt::Debug for SigningInputs<'_> {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SigningInputs")
            .field("access_key_id", &self.access_key_id)
            .field("secret_access_key", &"** redacted **")
            .field(
                "session_token",
                &self.session_token.map(|_| "** redacted **"),
            )
            .field("region", &self.region)
            .field("time", &self.time)
            .field("host", &self.host)
            .finish()
    }
}

/// The arguments of an `authorizeConnection` call.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use xacct_dax_protocol::codec::{sign_authorization, AuthRequest, SigningInputs, DAX_HOST};
///
/// // The vector of docs/dax-protocol.md §2.2, recorded from the official Python client.
/// let inputs = SigningInputs {
///     access_key_id: "AKIDEXAMPLE",
///     secret_access_key: "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY",
///     session_token: Some("SESSIONTOKEN"),
///     region: "us-east-1",
///     time: UNIX_EPOCH + Duration::from_secs(1_795_245_105), // 2026-11-21T07:11:45Z
///     host: DAX_HOST,
/// };
/// let auth = sign_authorization(&inputs, Some("DaxPythonClient-2.1.0"));
/// assert_eq!(auth.signature, "06322b38f88ab54a984a9b0803a659f6595112c6440720751a2fe3a5bfddee2c");
/// let mut frame = Vec::new();
/// auth.encode(&mut frame);
/// assert_eq!(frame.len(), 255);
/// assert_eq!(AuthRequest::decode(&frame)?, auth);
/// # Ok::<(), xacct_dax_protocol::codec::CodecError>(())
/// ```
#[derive(Clone, PartialEq, Eq)]
pub struct AuthRequest {
    /// Access key id.
    pub access_key_id: String,
    /// 64 lowercase hex characters.
    pub signature: String,
    /// The SigV4 string-to-sign (sent as a CBOR byte string).
    pub string_to_sign: String,
    /// Session token (`null` if none).
    pub session_token: Option<String>,
    /// User agent (`null` if none).
    pub user_agent: Option<String>,
}

impl std::fmt::Debug for AuthRequest {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AuthRequest")
            .field("access_key_id", &self.access_key_id)
            .field("signature", &self.signature)
            .field("string_to_sign", &self.string_to_sign)
            .field(
                "session_token",
                &self.session_token.as_ref().map(|_| "** redacted **"),
            )
            .field("user_agent", &self.user_agent)
            .finish()
    }
}

impl AuthRequest {
    /// Appends the `authorizeConnection` frame (the server never replies to it).
    pub fn encode(&self, out: &mut Vec<u8>) {
        let mut w = Writer::new(out);
        write_request_head(&mut w, Method::AuthorizeConnection);
        w.str(&self.access_key_id)
            .str(&self.signature)
            .bytes(self.string_to_sign.as_bytes());
        for s in [&self.session_token, &self.user_agent] {
            match s {
                Some(s) => w.str(s),
                None => w.null(),
            };
        }
    }

    /// Reads an `authorizeConnection` frame (server side).
    pub fn decode(frame: &[u8]) -> Result<Self, CodecError> {
        let mut r = Reader::new(frame);
        read_request_head(&mut r, Method::AuthorizeConnection)?;
        let access_key_id = r.str()?.into_owned();
        let signature = r.str()?.into_owned();
        let string_to_sign = r.text_or_bytes()?;
        let opt = |r: &mut Reader<'_>| -> Result<Option<String>, CodecError> {
            if r.null_or()? {
                Ok(None)
            } else {
                Ok(Some(r.str()?.into_owned()))
            }
        };
        let session_token = opt(&mut r)?;
        let user_agent = opt(&mut r)?;
        r.finish()?;
        Ok(AuthRequest {
            access_key_id,
            signature,
            string_to_sign,
            session_token,
            user_agent,
        })
    }
}

/// `YYYYMMDD'T'HHMMSS'Z'` of a time, whole seconds.
fn amz_date(time: SystemTime) -> String {
    let secs = time.duration_since(UNIX_EPOCH).map_or(0, |d| d.as_secs());
    let (days, rem) = (secs / 86_400, secs % 86_400);
    let (y, m, d) = civil_from_days(days as i64);
    format!(
        "{y:04}{m:02}{d:02}T{:02}{:02}{:02}Z",
        rem / 3600,
        rem % 3600 / 60,
        rem % 60
    )
}

/// Days since 1970-01-01 → (year, month, day), proleptic Gregorian (H. Hinnant's algorithm).
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    let y = yoe + era * 400 + i64::from(m <= 2);
    (y, m, d)
}

/// (year, month, day) → days since 1970-01-01.
fn days_from_civil(y: i64, m: u32, d: u32) -> i64 {
    let y = if m <= 2 { y - 1 } else { y };
    let era = y.div_euclid(400);
    let yoe = y.rem_euclid(400);
    let mp = i64::from(if m > 2 { m - 3 } else { m + 9 });
    let doy = (153 * mp + 2) / 5 + i64::from(d) - 1;
    let doe = yoe * 365 + yoe / 4 - yoe / 100 + doy;
    era * 146_097 + doe - 719_468
}

fn hex_sha256(b: &[u8]) -> String {
    hex::encode(Sha256::digest(b))
}

fn canonical_request(host: &str, amz_date: &str, payload_sha256: &str) -> String {
    format!("POST\n/\n\nhost:{host}\nx-amz-date:{amz_date}\n\nhost;x-amz-date\n{payload_sha256}")
}

fn string_to_sign(amz_date: &str, region: &str, canonical_hash: &str) -> String {
    format!(
        "AWS4-HMAC-SHA256\n{amz_date}\n{}/{region}/{SERVICE}/aws4_request\n{canonical_hash}",
        &amz_date[..8]
    )
}

/// Signs an `authorizeConnection` call.
pub fn sign_authorization(inputs: &SigningInputs<'_>, user_agent: Option<&str>) -> AuthRequest {
    let date = amz_date(inputs.time);
    let canonical = canonical_request(inputs.host, &date, EMPTY_SHA256);
    let sts = string_to_sign(&date, inputs.region, &hex_sha256(canonical.as_bytes()));
    let key = generate_signing_key(
        inputs.secret_access_key,
        inputs.time,
        inputs.region,
        SERVICE,
    );
    let signature = calculate_signature(key, sts.as_bytes());
    AuthRequest {
        access_key_id: inputs.access_key_id.to_owned(),
        signature,
        string_to_sign: sts,
        session_token: inputs.session_token.map(str::to_owned),
        user_agent: user_agent.map(str::to_owned),
    }
}

/// Server side: whether `req`'s signature is the HMAC of its own string-to-sign under
/// `secret_access_key`, with the date, region and service of the string-to-sign's scope
/// (service must be `dax`). Clock skew is the caller's policy: compare
/// [`AuthRequest::string_to_sign`]'s time with yours.
///
/// ```
/// use std::time::{Duration, UNIX_EPOCH};
/// use xacct_dax_protocol::codec::{sign_authorization, verify_authorization, SigningInputs, DAX_HOST};
///
/// let inputs = SigningInputs { access_key_id: "AK", secret_access_key: "SK", session_token: None,
///     region: "eu-west-1", time: UNIX_EPOCH + Duration::from_secs(1_700_000_000), host: DAX_HOST };
/// let auth = sign_authorization(&inputs, None);
/// assert!(verify_authorization(&auth, "SK"));
/// assert!(!verify_authorization(&auth, "other"));
/// ```
pub fn verify_authorization(req: &AuthRequest, secret_access_key: &str) -> bool {
    let mut lines = req.string_to_sign.split('\n');
    let (Some("AWS4-HMAC-SHA256"), Some(_date), Some(scope), Some(_hash), None) = (
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
        lines.next(),
    ) else {
        return false;
    };
    let parts: Vec<&str> = scope.split('/').collect();
    let [day, region, SERVICE, "aws4_request"] = parts.as_slice() else {
        return false;
    };
    let Some(time) = parse_day(day) else {
        return false;
    };
    let key = generate_signing_key(secret_access_key, time, region, SERVICE);
    let want = calculate_signature(key, req.string_to_sign.as_bytes());
    // Constant-time comparison of the two hex strings.
    want.len() == req.signature.len()
        && want
            .bytes()
            .zip(req.signature.bytes())
            .fold(0u8, |acc, (a, b)| acc | (a ^ b))
            == 0
}

fn parse_day(day: &str) -> Option<SystemTime> {
    if day.len() != 8 || !day.bytes().all(|b| b.is_ascii_digit()) {
        return None;
    }
    let y: i64 = day[..4].parse().ok()?;
    let m: u32 = day[4..6].parse().ok()?;
    let d: u32 = day[6..].parse().ok()?;
    if !(1..=12).contains(&m) || !(1..=31).contains(&d) {
        return None;
    }
    let days = u64::try_from(days_from_civil(y, m, d)).ok()?;
    Some(UNIX_EPOCH + Duration::from_secs(days * 86_400))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn at(secs: u64) -> SystemTime {
        UNIX_EPOCH + Duration::from_secs(secs)
    }

    #[test]
    fn dates() {
        assert_eq!(amz_date(at(1_795_245_105)), "20261121T071145Z");
        assert_eq!(amz_date(at(0)), "19700101T000000Z");
        for days in [-1000, 0, 59, 60, 365, 11_016, 20_000, 100_000] {
            let (y, m, d) = civil_from_days(days);
            assert_eq!(days_from_civil(y, m, d), days);
        }
    }

    /// docs/dax-protocol.md §2.2 test vectors (canonical-request hash and signature).
    #[test]
    fn vectors() {
        let secret = "wJalrXUtnFEMI/K7MDENG+bPxRfiCYEXAMPLEKEY";
        // The Go unit-test vector: other host, payload "payload".
        let date = "20180227T181912Z";
        let canon = canonical_request(
            "dynamodb.us-east-1.amazonaws.com",
            date,
            &hex_sha256(b"payload"),
        );
        let h = hex_sha256(canon.as_bytes());
        assert_eq!(
            h,
            "059996a9cb1161028c24513d3ea105ae4b06076943a02d9a0f72e2b5d7e6fef0"
        );
        let t = at(1_519_755_552);
        assert_eq!(amz_date(t), date);
        let sig = calculate_signature(
            generate_signing_key("sk", t, "us-east-1", SERVICE),
            string_to_sign(date, "us-east-1", &h).as_bytes(),
        );
        assert_eq!(
            sig,
            "a7ee7b960e8c11f149d55288149b834cd5f18583401c04b3dac24f4579c3e647"
        );

        let cases = [
            (
                1_795_245_105,
                DAX_HOST,
                "849f025582aabde0003c1794b8e694a14cdb9d9e4fdbfbaf5e1e532e12af63c6",
                "06322b38f88ab54a984a9b0803a659f6595112c6440720751a2fe3a5bfddee2c",
            ),
            (
                1_704_067_200,
                DAX_HOST,
                "2b8d66a38b52b11b008d6d03e55e381356e0b4bc462bba2236c158792b5f3eef",
                "090d47a2d628e30560d3ad88607755bdbbc890d5ad915c52e905e6e2a81243c8",
            ),
            (
                1_704_067_200,
                "https://dax.amazonaws.com",
                "549583b766b67579405ea2214348e8a4d8b3ba045f19b2b2218707cb502c1b77",
                "94cdecf2f9e9e7fdac352a48bd64dd8ae688123311d5a08ae1d7671d6a21b1cb",
            ),
        ];
        for (secs, host, hash, want) in cases {
            let inputs = SigningInputs {
                access_key_id: "AKIDEXAMPLE",
                secret_access_key: secret,
                session_token: None,
                region: "us-east-1",
                time: at(secs),
                host,
            };
            let auth = sign_authorization(&inputs, None);
            assert!(auth.string_to_sign.ends_with(hash), "{host} {secs}");
            assert_eq!(auth.signature, want);
            assert!(verify_authorization(&auth, secret));
        }
    }

    #[test]
    fn debug_redacts_secrets() {
        let inputs = SigningInputs {
            access_key_id: "AK",
            secret_access_key: "SECRET",
            session_token: Some("TOKEN"),
            region: "r",
            time: at(0),
            host: DAX_HOST,
        };
        let auth = sign_authorization(&inputs, None);
        for s in [format!("{inputs:?}"), format!("{auth:?}")] {
            assert!(!s.contains("SECRET") && !s.contains("TOKEN"), "{s}");
        }
    }
}
