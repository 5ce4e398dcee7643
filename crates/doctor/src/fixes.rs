//! The concrete fixes: policy statements and CLI commands, filled in with what the run knows.
//! Placeholders in `<angle brackets>` are what only the operator knows. No secret ever goes in.

/// The parts of a role ARN (`arn:PARTITION:iam::ACCOUNT:role/PATH/NAME`).
#[derive(Debug, Clone)]
pub(crate) struct RoleArn {
    pub(crate) partition: String,
    pub(crate) account: String,
    pub(crate) name: String,
}

impl RoleArn {
    pub(crate) fn parse(arn: &str) -> Option<RoleArn> {
        let parts: Vec<&str> = arn.splitn(6, ':').collect();
        if parts.len() != 6 || parts[0] != "arn" || parts[2] != "iam" {
            return None;
        }
        let resource = parts[5].strip_prefix("role/")?;
        let name = resource.rsplit('/').next()?.to_owned();
        if name.is_empty() || parts[4].is_empty() {
            return None;
        }
        Some(RoleArn {
            partition: parts[1].to_owned(),
            account: parts[4].to_owned(),
            name,
        })
    }

    pub(crate) fn or_placeholder(arn: &str) -> RoleArn {
        RoleArn::parse(arn).unwrap_or(RoleArn {
            partition: "aws".into(),
            account: "<account A>".into(),
            name: "<role name>".into(),
        })
    }
}

/// The principal to name in a trust policy for a caller ARN: an IAM user or role as is, an
/// assumed-role session as its role.
pub(crate) fn trustable_principal(caller_arn: &str) -> String {
    // arn:aws:sts::B:assumed-role/ROLE/SESSION -> arn:aws:iam::B:role/ROLE
    let parts: Vec<&str> = caller_arn.splitn(6, ':').collect();
    if parts.len() == 6 && parts[2] == "sts" {
        if let Some(rest) = parts[5].strip_prefix("assumed-role/") {
            if let Some(role) = rest.split('/').next() {
                return format!("arn:{}:iam::{}:role/{}", parts[1], parts[4], role);
            }
        }
    }
    caller_arn.to_owned()
}

/// The trust-policy statement account A must hold for account B.
pub(crate) fn trust_statement(partition: &str, account_b: &str, with_external_id: bool) -> String {
    let condition = if with_external_id {
        r#","Condition":{"StringEquals":{"sts:ExternalId":"<the ExternalId you pass>"}}"#
    } else {
        ""
    };
    format!(
        r#"{{"Effect":"Allow","Principal":{{"AWS":"arn:{partition}:iam::{account_b}:root"}},"Action":"sts:AssumeRole"{condition}}}"#
    )
}

pub(crate) fn trust_fix(role: &RoleArn, account_b: &str, with_external_id: bool) -> String {
    format!(
        "in account A ({acct}), add this statement to the trust policy of role {name} \
         (aws iam update-assume-role-policy --role-name {name} --policy-document file://trust.json):\n\
         {stmt}",
        acct = role.account,
        name = role.name,
        stmt = trust_statement(&role.partition, account_b, with_external_id),
    )
}

pub(crate) fn assume_role_identity_fix(role_arn: &str, caller_arn: &str) -> String {
    format!(
        "in account B, allow the caller {caller} to assume the role (identity policy, e.g. \
         aws iam put-user-policy / put-role-policy --policy-name assume-{short} --policy-document file://p.json):\n\
         {{\"Effect\":\"Allow\",\"Action\":\"sts:AssumeRole\",\"Resource\":\"{role_arn}\"}}",
        caller = trustable_principal(caller_arn),
        short = RoleArn::parse(role_arn)
            .map(|r| r.name)
            .unwrap_or_else(|| "role".into()),
    )
}

pub(crate) fn permissions_fix(role: &RoleArn, actions: &[&str], resources: &[String]) -> String {
    let actions = actions
        .iter()
        .map(|a| format!("\"{a}\""))
        .collect::<Vec<_>>()
        .join(",");
    let resources = resources
        .iter()
        .map(|r| format!("\"{r}\""))
        .collect::<Vec<_>>()
        .join(",");
    format!(
        "in account A ({acct}), add the missing actions to role {name}'s permissions \
         (aws iam put-role-policy --role-name {name} --policy-name xacct-dynamodb --policy-document file://p.json):\n\
         {{\"Effect\":\"Allow\",\"Action\":[{actions}],\"Resource\":[{resources}]}}",
        acct = role.account,
        name = role.name,
    )
}

pub(crate) fn table_arn(role: &RoleArn, region: &str, table: &str) -> String {
    format!(
        "arn:{}:dynamodb:{region}:{}:table/{table}",
        role.partition, role.account
    )
}

pub(crate) fn security_group_fix(port: u16, account_b: Option<&str>) -> String {
    format!(
        "open the DAX cluster's security group (in account A) to this host's security group (in \
         account B):\n\
         aws ec2 authorize-security-group-ingress --group-id <DAX cluster sg-id> --protocol tcp \
         --port {port} --source-group <this host's sg-id> --group-owner {owner}\n\
         (with VPC peering, referencing a peer account's group needs the peering to be active in \
         the same region; else use --cidr <this subnet's CIDR>). Then check that this subnet's route \
         table has a route to the DAX subnets through the peering or transit gateway:\n\
         aws ec2 create-route --route-table-id <this subnet's rtb-id> --destination-cidr-block \
         <DAX subnet CIDR> --vpc-peering-connection-id <pcx-id>\n\
         (and the reverse route in the DAX VPC), and that no network ACL drops port {port} or the \
         ephemeral ports (1024-65535) on the way back.",
        owner = account_b.unwrap_or("<account B>"),
    )
}
