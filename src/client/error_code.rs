//! Reading an AWS error response's code, in every protocol the SDK speaks.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// Error codes meaning "these credentials are no longer accepted", across protocols.
const REJECTED: &[&str] = &[
    "ExpiredToken",
    "ExpiredTokenException",
    "InvalidToken",
    "InvalidTokenException",
];

pub(super) fn is_rejection(code: &str) -> bool {
    REJECTED.contains(&code)
}

/// The code from an `x-amzn-ErrorType` header (`Code:detail`).
pub(super) fn header_code(response: &HttpResponse) -> Option<&str> {
    let header = response.headers().get("x-amzn-errortype")?;
    Some(header.split(':').next().unwrap_or(header))
}

/// The error code of an error response with its body in memory: the header, else the body.
pub(super) fn error_code(response: &HttpResponse) -> Option<&str> {
    header_code(response).or_else(|| body_code(std::str::from_utf8(response.body().bytes()?).ok()?))
}

/// A JSON body's `__type` (after any `namespace#`), or a query/XML body's `<Code>`.
pub(super) fn body_code(body: &str) -> Option<&str> {
    if let Some(code) = json_type(body) {
        return Some(code);
    }
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(&body[start..start + len])
}

/// The `__type` of a JSON error body, after any `namespace#`.
fn json_type(body: &str) -> Option<&str> {
    let at = body.find("\"__type\"")?;
    let value = body[at + "\"__type\"".len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let value = &value[..value.find('"')?];
    Some(value.rsplit('#').next().unwrap_or(value))
}

/// `AWS4-HMAC-SHA256 Credential=AKID/date/region/service/aws4_request, ...` -> `AKID`.
pub(super) fn signing_key(authorization: &str) -> Option<&str> {
    let rest = &authorization[authorization.find("Credential=")? + "Credential=".len()..];
    rest.split('/').next().filter(|k| !k.is_empty())
}

#[cfg(test)]
mod tests {
    use super::*;
    use aws_smithy_runtime_api::http::StatusCode;
    use aws_smithy_types::body::SdkBody;

    fn response(status: u16, body: &str) -> HttpResponse {
        HttpResponse::new(StatusCode::try_from(status).unwrap(), SdkBody::from(body))
    }

    #[test]
    fn finds_the_code_in_every_protocol() {
        let json = r#"{"__type":"com.amazon.coral.service#ExpiredTokenException","message":"x"}"#;
        assert_eq!(
            error_code(&response(400, json)),
            Some("ExpiredTokenException")
        );
        let json11 = r#"{"__type": "InvalidTokenException"}"#;
        assert_eq!(
            error_code(&response(400, json11)),
            Some("InvalidTokenException")
        );
        let xml = "<ErrorResponse><Error><Type>Sender</Type><Code>ExpiredToken</Code></Error></ErrorResponse>";
        assert_eq!(error_code(&response(403, xml)), Some("ExpiredToken"));
        let mut with_header = response(400, "{}");
        with_header
            .headers_mut()
            .insert("x-amzn-ErrorType", "ExpiredTokenException:http://internal");
        assert_eq!(error_code(&with_header), Some("ExpiredTokenException"));
        assert!(is_rejection("ExpiredToken") && !is_rejection("AccessDeniedException"));
    }

    #[test]
    fn signing_keys_are_read_from_the_authorization_header() {
        let auth = "AWS4-HMAC-SHA256 Credential=ASIAEXAMPLE/20261121/us-east-1/dynamodb/aws4_request, SignedHeaders=host, Signature=abc";
        assert_eq!(signing_key(auth), Some("ASIAEXAMPLE"));
        assert_eq!(signing_key("Bearer x"), None);
    }
}
