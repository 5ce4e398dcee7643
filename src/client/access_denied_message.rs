//! Tells "the role may not perform this data action" apart from "AssumeRole was denied".
//!
//! An AssumeRole denial never reaches DynamoDB: it fails identity resolution, and the request's
//! error carries this crate's [`Error`](crate::Error) (with the causes to check) in its source
//! chain. A DynamoDB `AccessDeniedException`, by contrast, means the credentials were issued and
//! the role in account A lacks the action. AWS's message does not always name the table, and
//! never says that trust and ExternalId are fine, so the HTTP client our configs carry
//! (`invalidating_http_client.rs`) appends that to the error's message, naming the action and the table, before the
//! SDK deserializes it: the error keeps its type and code; only its message says more. This
//! file holds the pure text work.

/// What is appended to an `AccessDeniedException` message.
pub(super) fn explanation(role_arn: &str, action: &str, table: Option<&str>) -> String {
    let on = table.map(|t| format!(" on table {t}")).unwrap_or_default();
    format!(
        " [the role {role_arn} may not perform {action}{on}: AssumeRole succeeded, so the trust \
         policy and external id are fine; grant {action} in the role's permission policy]"
    )
}

/// The first `"TableName":"..."` of a JSON request, or the first key of `RequestItems`.
pub(super) fn table_name(body: &str) -> Option<String> {
    let value_after = |key: &str| -> Option<String> {
        let rest = &body[body.find(key)? + key.len()..];
        let rest = rest.trim_start().strip_prefix(':')?.trim_start();
        let rest = match key {
            "\"RequestItems\"" => rest.strip_prefix('{')?.trim_start(),
            _ => rest,
        };
        let rest = rest.strip_prefix('"')?;
        Some(rest[..rest.find('"')?].to_owned())
    };
    value_after("\"TableName\"").or_else(|| value_after("\"RequestItems\""))
}

/// Appends already-safe text to the JSON error's `message` (or `Message`) string.
pub(super) fn append_to_message(body: &str, text: &str) -> Option<String> {
    let escaped: String = text
        .chars()
        .flat_map(|c| match c {
            '"' => vec!['\\', '"'],
            '\\' => vec!['\\', '\\'],
            c if (c as u32) < 0x20 => vec![' '],
            c => vec![c],
        })
        .collect();
    let key = ["\"message\"", "\"Message\""]
        .into_iter()
        .find(|k| body.contains(k))?;
    let after_key = body.find(key)? + key.len();
    let open = after_key + body[after_key..].find('"')? + 1;
    // the closing quote: the first '"' not escaped by a backslash
    let bytes = body.as_bytes();
    let mut i = open;
    while i < bytes.len() {
        match bytes[i] {
            b'\\' => i += 2,
            b'"' => break,
            _ => i += 1,
        }
    }
    if i >= bytes.len() {
        return None;
    }
    Some(format!("{}{escaped}{}", &body[..i], &body[i..]))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_the_table() {
        let get = r#"{"TableName":"orders","Key":{"pk":{"S":"a"}}}"#;
        assert_eq!(table_name(get).as_deref(), Some("orders"));
        let batch = r#"{"RequestItems": {"orders": {"Keys": []}}}"#;
        assert_eq!(table_name(batch).as_deref(), Some("orders"));
        assert_eq!(table_name("{}"), None);
    }

    #[test]
    fn appends_to_the_message_keeping_valid_json() {
        let body = r#"{"__type":"x#AccessDeniedException","message":"not \"authorized\""}"#;
        let out = append_to_message(body, " [role \"R\"]").unwrap();
        assert_eq!(
            out,
            r#"{"__type":"x#AccessDeniedException","message":"not \"authorized\" [role \"R\"]"}"#
        );
        let upper = r#"{"__type":"AccessDeniedException","Message":"no"}"#;
        assert!(append_to_message(upper, " x")
            .unwrap()
            .contains(r#""Message":"no x""#));
        assert_eq!(append_to_message(r#"{"__type":"x"}"#, "y"), None);
    }
}
