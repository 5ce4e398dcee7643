//! Checks of AssumeRole inputs against STS's documented constraints, so bad input is a typed
//! error at build time instead of an STS round trip (or a panic) later. Messages never repeat a
//! secret value (the external id is only described).

use std::time::Duration;

use crate::Error;

/// STS `RoleSessionName`, `SourceIdentity`: `[\w+=,.@-]`.
fn is_name_char(c: char) -> bool {
    c.is_ascii_alphanumeric() || "_+=,.@-".contains(c)
}

/// `arn:<partition>:iam::<12 digits>:role/<path/>name`, any partition.
pub(crate) fn role_arn(arn: &str) -> Result<(), Error> {
    let bad = |why: &str| {
        Error::invalid_input(
            "role ARN",
            format!(
                "{arn:?} {why}; expected arn:<partition>:iam::<12-digit account id>:role/<name>, \
                 e.g. arn:aws:iam::111111111111:role/CrossAccountDynamoRole"
            ),
        )
    };
    let parts: Vec<&str> = arn.splitn(6, ':').collect();
    let [prefix, partition, service, region, account, resource] = parts.as_slice() else {
        return Err(bad("does not have the six ':'-separated fields of an ARN"));
    };
    if *prefix != "arn" {
        return Err(bad("does not start with \"arn:\""));
    }
    if partition.is_empty()
        || !partition
            .chars()
            .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '-')
    {
        return Err(bad(
            "has no valid partition (such as aws, aws-cn, aws-us-gov)",
        ));
    }
    if *service != "iam" {
        return Err(bad("is not an IAM ARN"));
    }
    if !region.is_empty() {
        return Err(bad("has a region, but IAM ARNs have none"));
    }
    if account.len() != 12 || !account.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad("does not have a 12-digit account id"));
    }
    let Some(path_and_name) = resource.strip_prefix("role/") else {
        return Err(bad(
            "is not a role ARN (the resource must start with \"role/\")",
        ));
    };
    let (path, name) = path_and_name
        .rsplit_once('/')
        .unwrap_or(("", path_and_name));
    if name.is_empty() || name.len() > 64 || !name.chars().all(is_name_char) {
        return Err(bad(
            "has no valid role name (1-64 of letters, digits and _+=,.@-)",
        ));
    }
    if path
        .split('/')
        .any(|seg| seg.chars().any(|c| !('!'..='~').contains(&c)))
        || path.len() > 510
    {
        return Err(bad("has an invalid role path"));
    }
    Ok(())
}

pub(crate) fn session_name(name: &str) -> Result<(), Error> {
    if (2..=64).contains(&name.len()) && name.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "session name",
            format!("{name:?} must be 2 to 64 characters of letters, digits and _+=,.@-"),
        ))
    }
}

pub(crate) fn source_identity(id: &str) -> Result<(), Error> {
    if (2..=64).contains(&id.len()) && id.chars().all(is_name_char) {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "source identity",
            format!("{id:?} must be 2 to 64 characters of letters, digits and _+=,.@-"),
        ))
    }
}

/// The value is a secret of sorts: describe it, never print it.
pub(crate) fn external_id(id: &str) -> Result<(), Error> {
    let len = id.chars().count();
    if !(2..=1224).contains(&len) {
        return Err(Error::invalid_input(
            "external id",
            format!("it has {len} characters; STS accepts 2 to 1224"),
        ));
    }
    if !id.chars().all(|c| is_name_char(c) || c == ':' || c == '/') {
        return Err(Error::invalid_input(
            "external id",
            "it contains a character STS does not accept (allowed: letters, digits and _+=,.@:/-)",
        ));
    }
    Ok(())
}

/// The session duration in whole seconds, 900 to 43200.
pub(crate) fn duration(duration: Duration) -> Result<i32, Error> {
    if duration.subsec_nanos() != 0 {
        return Err(Error::invalid_input(
            "duration",
            format!("{duration:?} is not a whole number of seconds, which is what STS takes"),
        ));
    }
    let secs = duration.as_secs();
    if (900..=43200).contains(&secs) {
        Ok(secs as i32)
    } else {
        Err(Error::invalid_input(
            "duration",
            format!(
                "{secs} s is outside what STS accepts, 900 s (15 min) to 43200 s (12 h); the \
                 role's MaxSessionDuration may lower the maximum, and chained sessions are \
                 capped at 3600 s"
            ),
        ))
    }
}

pub(crate) fn policy(json: &str) -> Result<(), Error> {
    if json.trim().is_empty() {
        return Err(Error::invalid_input("session policy", "it is empty"));
    }
    if json.chars().count() > 2048 {
        return Err(Error::invalid_input(
            "session policy",
            "it is longer than the 2048 characters STS accepts for session policies",
        ));
    }
    Ok(())
}

pub(crate) fn policy_arns(arns: &[String]) -> Result<(), Error> {
    if arns.len() > 10 {
        return Err(Error::invalid_input(
            "policy ARNs",
            format!(
                "{} were given; STS accepts at most 10 managed session policies",
                arns.len()
            ),
        ));
    }
    match arns.iter().find(|a| a.len() < 20 || !a.starts_with("arn:")) {
        Some(a) => Err(Error::invalid_input(
            "policy ARNs",
            format!("{a:?} is not a policy ARN (arn:<partition>:iam::<account>:policy/<name>)"),
        )),
        None => Ok(()),
    }
}

pub(crate) fn tags(tags: &[(String, String)], transitive: &[String]) -> Result<(), Error> {
    if tags.len() > 50 {
        return Err(Error::invalid_input(
            "session tags",
            format!("{} were given; STS accepts at most 50", tags.len()),
        ));
    }
    for (key, value) in tags {
        if !(1..=128).contains(&key.chars().count()) {
            return Err(Error::invalid_input(
                "session tags",
                format!("tag key {key:?} must be 1 to 128 characters"),
            ));
        }
        if value.chars().count() > 256 {
            return Err(Error::invalid_input(
                "session tags",
                format!("the value of tag {key:?} is longer than 256 characters"),
            ));
        }
    }
    if let Some(k) = transitive
        .iter()
        .find(|k| !(1..=128).contains(&k.chars().count()))
    {
        return Err(Error::invalid_input(
            "transitive tag keys",
            format!("{k:?} must be 1 to 128 characters"),
        ));
    }
    Ok(())
}

pub(crate) fn mfa_serial(serial: &str) -> Result<(), Error> {
    if (9..=256).contains(&serial.len())
        && serial
            .chars()
            .all(|c| is_name_char(c) || c == '/' || c == ':')
    {
        Ok(())
    } else {
        Err(Error::invalid_input(
            "MFA serial number",
            format!("{serial:?} must be an MFA device ARN or serial, 9 to 256 characters"),
        ))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn role_arns_in_any_partition_with_paths() {
        for ok in [
            "arn:aws:iam::111111111111:role/CrossAccountDynamoRole",
            "arn:aws-cn:iam::111111111111:role/a",
            "arn:aws-us-gov:iam::111111111111:role/service-role/team/app+x=y,z.@-",
        ] {
            role_arn(ok).unwrap_or_else(|e| panic!("{ok}: {e}"));
        }
    }

    #[test]
    fn bad_role_arns_say_what_is_wrong() {
        for (bad, why) in [
            ("", "six"),
            ("CrossAccountDynamoRole", "six"),
            ("arn:aws:iam::1111:role/x", "12-digit"),
            ("arn:aws:iam::11111111111a:role/x", "12-digit"),
            ("arn:aws:sts::111111111111:role/x", "not an IAM ARN"),
            ("arn:aws:iam:us-east-1:111111111111:role/x", "region"),
            ("arn:aws:iam::111111111111:user/x", "not a role ARN"),
            ("arn:aws:iam::111111111111:role/", "role name"),
            ("arn:aws:iam::111111111111:role/bad name", "role name"),
            ("arn::iam::111111111111:role/x", "partition"),
            ("urn:aws:iam::111111111111:role/x", "arn:"),
        ] {
            let err = role_arn(bad).unwrap_err();
            assert!(err.is_invalid_input());
            assert!(err.to_string().contains(why), "{bad}: {err}");
        }
    }

    #[test]
    fn session_names() {
        session_name("orders-api").unwrap();
        session_name("a@b.c=d,e+f_g-h").unwrap();
        assert!(session_name("x").is_err());
        assert!(session_name(&"x".repeat(65)).is_err());
        assert!(session_name("has space").is_err());
        assert!(session_name("slash/").is_err());
    }

    #[test]
    fn external_id_errors_never_show_the_id() {
        let id = "secret id with spaces";
        let err = external_id(id).unwrap_err();
        assert!(!err.to_string().contains("secret"), "{err}");
        assert!(!format!("{err:?}").contains("secret"));
        assert!(external_id("x").is_err());
        external_id("abc-123:/+=,.@_").unwrap();
    }

    #[test]
    fn durations() {
        let secs = Duration::from_secs;
        assert_eq!(duration(secs(900)).unwrap(), 900);
        assert_eq!(duration(secs(43200)).unwrap(), 43200);
        assert!(duration(secs(899)).unwrap_err().is_invalid_input());
        assert!(duration(secs(43201)).is_err());
        assert!(duration(secs(u64::MAX)).is_err());
        assert!(duration(Duration::ZERO).is_err());
        let fraction = duration(Duration::from_millis(900_500)).unwrap_err();
        assert!(fraction.is_invalid_input());
        assert!(
            fraction.to_string().contains("whole number of seconds"),
            "{fraction}"
        );
    }

    #[test]
    fn policies_tags_and_mfa() {
        policy(r#"{"Version":"2012-10-17","Statement":[]}"#).unwrap();
        assert!(policy(" ").is_err());
        assert!(policy(&"x".repeat(2049)).is_err());
        policy_arns(&["arn:aws:iam::aws:policy/ReadOnlyAccess".into()]).unwrap();
        assert!(policy_arns(&["ReadOnlyAccess".into()]).is_err());
        assert!(policy_arns(&vec!["arn:aws:iam::aws:policy/ReadOnlyAccess".into(); 11]).is_err());
        tags(&[("team".into(), "data".into())], &["team".into()]).unwrap();
        assert!(tags(&[(String::new(), "v".into())], &[]).is_err());
        assert!(tags(&[("k".into(), "v".repeat(257))], &[]).is_err());
        assert!(tags(&[], &[String::new()]).is_err());
        mfa_serial("arn:aws:iam::222222222222:mfa/alice").unwrap();
        assert!(mfa_serial("short").is_err());
    }
}
