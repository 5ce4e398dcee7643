//! Reading an AWS error response's code, in every protocol the SDK speaks.

use aws_smithy_runtime_api::client::orchestrator::HttpResponse;

/// The error code of an error response: the `x-amzn-ErrorType` header, a JSON body's `__type`
/// (after any `namespace#`), or a query/XML body's `<Code>`. Needs the body in memory.
pub(super) fn error_code(response: &HttpResponse) -> Option<&str> {
    if let Some(header) = response.headers().get("x-amzn-errortype") {
        return Some(header.split(':').next().unwrap_or(header));
    }
    let body = std::str::from_utf8(response.body().bytes()?).ok()?;
    if let Some(code) = json_type(body) {
        return Some(code);
    }
    let start = body.find("<Code>")? + "<Code>".len();
    let len = body[start..].find("</Code>")?;
    Some(&body[start..start + len])
}

/// The `__type` of a JSON error body, after any `namespace#`.
pub(super) fn json_type(body: &str) -> Option<&str> {
    let at = body.find("\"__type\"")?;
    let value = body[at + "\"__type\"".len()..]
        .trim_start()
        .strip_prefix(':')?
        .trim_start()
        .strip_prefix('"')?;
    let value = &value[..value.find('"')?];
    Some(value.rsplit('#').next().unwrap_or(value))
}
