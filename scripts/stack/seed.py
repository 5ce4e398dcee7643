#!/usr/bin/env python3
"""Seed a fresh shim.py server with the two-account fixture, turn moto's IAM auth on, write the env file.

Usage: seed.py ENDPOINT ENVFILE      (ENDPOINT like http://127.0.0.1:PORT)

Bootstrap: with moto's auth off, every request is routed to the account named in the
`x-moto-account-id` header, so the fixture is created with throw-away keys. Then auth is switched
on (POST "0" to /moto-api/reset-auth) and from there on only the keys created here work.

Permission policies all use "Resource": "*": moto 5.2.5 authorizes DynamoDB calls against "*",
so a table-ARN-scoped policy would always deny.

ENVFILE gets `export XACCT_STACK_...=value` lines (shell-quoted), written atomically.
XACCT_STACK_NAME and XACCT_STACK_PID are taken from this process's environment; the enforcement
settings are read back from the server's /_stack/health.
"""

from __future__ import annotations

import json
import os
import shlex
import sys
import tempfile
import urllib.request
from typing import Any

import boto3
from botocore.config import Config

ACCOUNT_A = "111111111111"
ACCOUNT_B = "222222222222"
ACCOUNT_C = "333333333333"
REGION = "us-east-1"
TABLE = "orders"
GSI = "customer-index"
EXTERNAL_ID = "xacct-test-external-id-7d1c"
KMS_ALIAS = "alias/xacct-keystore"
SECRET_NAME = "xacct/db-credentials"
SECRET_VALUE = {"username": "app", "password": "local-stack-password", "host": "db.local", "port": 5432}
SHORT_SESSION_TAG = {"Key": "xacct-stack:short-session", "Value": "true"}


# ---- helpers -------------------------------------------------------------------------------


def http(method: str, url: str, body: bytes | None = None, content_type: str | None = None) -> Any:
    req = urllib.request.Request(url, data=body, method=method)
    if content_type:
        req.add_header("Content-Type", content_type)
    with urllib.request.urlopen(req, timeout=10) as resp:
        return json.loads(resp.read() or b"null")


def set_moto_auth(endpoint: str, initial_no_auth_count: str) -> None:
    # text/plain matters: a form content type makes moto consume the body (HTTP 500)
    http("POST", f"{endpoint}/moto-api/reset-auth", initial_no_auth_count.encode(), "text/plain")


def bootstrap_client(endpoint: str, service: str, account: str) -> Any:
    """A client whose requests moto files under `account` (auth must be off)."""
    client = boto3.client(
        service,
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="AKIAXACCTSTACKSEED00",
        aws_secret_access_key="seed",
        config=Config(retries={"max_attempts": 1}),
    )

    def add_header(request: Any, **_: Any) -> None:
        request.headers["x-moto-account-id"] = account

    client.meta.events.register("before-sign.*.*", add_header)
    return client


def policy(*statements: dict[str, Any]) -> str:
    return json.dumps({"Version": "2012-10-17", "Statement": list(statements)})


def allow(*actions: str) -> str:
    return policy({"Effect": "Allow", "Action": list(actions), "Resource": "*"})


def trust(principal: str, external_id: str | None = None) -> str:
    statement: dict[str, Any] = {"Effect": "Allow", "Principal": {"AWS": principal}, "Action": "sts:AssumeRole"}
    if external_id is not None:
        statement["Condition"] = {"StringEquals": {"sts:ExternalId": external_id}}
    return policy(statement)


def root(account: str) -> str:
    return f"arn:aws:iam::{account}:root"


def create_role(iam: Any, name: str, trust_doc: str, permissions: str, max_session: int = 3600,
                tags: list[dict[str, str]] | None = None) -> str:
    arn = iam.create_role(
        RoleName=name,
        AssumeRolePolicyDocument=trust_doc,
        MaxSessionDuration=max_session,
        Tags=tags or [],
    )["Role"]["Arn"]
    iam.put_role_policy(RoleName=name, PolicyName="permissions", PolicyDocument=permissions)
    return arn


def create_user(iam: Any, name: str, permissions: str) -> tuple[str, dict[str, str]]:
    arn = iam.create_user(UserName=name)["User"]["Arn"]
    iam.put_user_policy(UserName=name, PolicyName="permissions", PolicyDocument=permissions)
    key = iam.create_access_key(UserName=name)["AccessKey"]
    return arn, key


# ---- the fixture ---------------------------------------------------------------------------


def seed_account_a(endpoint: str) -> dict[str, str]:
    iam = bootstrap_client(endpoint, "iam", ACCOUNT_A)
    dynamodb = bootstrap_client(endpoint, "dynamodb", ACCOUNT_A)
    kms = bootstrap_client(endpoint, "kms", ACCOUNT_A)
    secrets = bootstrap_client(endpoint, "secretsmanager", ACCOUNT_A)
    b_root = root(ACCOUNT_B)
    out: dict[str, str] = {}

    dynamodb.create_table(
        TableName=TABLE,
        AttributeDefinitions=[
            {"AttributeName": "pk", "AttributeType": "S"},
            {"AttributeName": "sk", "AttributeType": "N"},
            {"AttributeName": "customer", "AttributeType": "S"},
        ],
        KeySchema=[{"AttributeName": "pk", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
        BillingMode="PAY_PER_REQUEST",
        GlobalSecondaryIndexes=[{
            "IndexName": GSI,
            "KeySchema": [{"AttributeName": "customer", "KeyType": "HASH"}, {"AttributeName": "sk", "KeyType": "RANGE"}],
            "Projection": {"ProjectionType": "ALL"},
        }],
    )

    out["ROLE_ARN"] = create_role(
        iam, "CrossAccountDynamoRole", trust(b_root, EXTERNAL_ID),
        allow("dynamodb:*", "kms:Decrypt", "kms:Encrypt", "kms:DescribeKey", "kms:GenerateDataKey",
              "secretsmanager:GetSecretValue", "secretsmanager:DescribeSecret"),
        max_session=3600,
    )
    out["UNTRUSTED_ROLE_ARN"] = create_role(iam, "UntrustedRole", trust(root(ACCOUNT_C)), allow("dynamodb:*"))
    out["NO_GETITEM_ROLE_ARN"] = create_role(
        iam, "NoGetItemRole", trust(b_root),
        allow("dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan", "dynamodb:DescribeTable",
              "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    )
    # for `xacct doctor`'s table_describe_denied: data actions, but no DescribeTable
    out["NO_DESCRIBE_TABLE_ROLE_ARN"] = create_role(
        iam, "NoDescribeTableRole", trust(b_root),
        allow("dynamodb:GetItem", "dynamodb:PutItem", "dynamodb:Query", "dynamodb:Scan",
              "dynamodb:UpdateItem", "dynamodb:DeleteItem"),
    )
    out["SHORT_SESSION_ROLE_ARN"] = create_role(
        iam, "ShortSessionRole", trust(b_root), allow("dynamodb:*"), tags=[SHORT_SESSION_TAG])
    out["CHAIN_TARGET_ROLE_ARN"] = create_role(
        iam, "ChainTargetRole", trust(b_root), allow("dynamodb:*"), max_session=43200)

    user_arn, key = create_user(iam, "dax-gateway", allow("dynamodb:*"))
    out["A_USER_ARN"] = user_arn
    out["A_ACCESS_KEY_ID"], out["A_SECRET_ACCESS_KEY"] = key["AccessKeyId"], key["SecretAccessKey"]

    key_meta = kms.create_key(
        Description="xacct local stack keystore key", KeySpec="SYMMETRIC_DEFAULT", KeyUsage="ENCRYPT_DECRYPT",
    )["KeyMetadata"]
    kms.create_alias(AliasName=KMS_ALIAS, TargetKeyId=key_meta["KeyId"])
    out["KMS_KEY_ARN"], out["KMS_ALIAS"] = key_meta["Arn"], KMS_ALIAS

    secret = secrets.create_secret(Name=SECRET_NAME, SecretString=json.dumps(SECRET_VALUE))
    out["SECRET_ID"], out["SECRET_NAME"] = secret["ARN"], SECRET_NAME
    return out


def seed_account_b(endpoint: str) -> dict[str, str]:
    iam = bootstrap_client(endpoint, "iam", ACCOUNT_B)
    out: dict[str, str] = {}
    user_arn, key = create_user(iam, "app", allow("sts:AssumeRole"))
    out["B_USER_ARN"] = user_arn
    out["B_ACCESS_KEY_ID"], out["B_SECRET_ACCESS_KEY"] = key["AccessKeyId"], key["SecretAccessKey"]

    user_arn, key = create_user(iam, "b-dynamo", allow("dynamodb:*"))  # deliberately no sts:AssumeRole
    out["B_DYNAMO_USER_ARN"] = user_arn
    out["B_DYNAMO_ACCESS_KEY_ID"], out["B_DYNAMO_SECRET_ACCESS_KEY"] = key["AccessKeyId"], key["SecretAccessKey"]

    out["CHAIN_HOP_ROLE_ARN"] = create_role(
        iam, "ChainHopRole", trust(root(ACCOUNT_B)), allow("sts:AssumeRole"), max_session=43200)
    return out


# ---- env file ------------------------------------------------------------------------------


def write_env_file(path: str, values: dict[str, str]) -> None:
    lines = [f"export XACCT_STACK_{name}={shlex.quote(str(value))}\n" for name, value in values.items()]
    directory = os.path.dirname(os.path.abspath(path))
    fd, tmp = tempfile.mkstemp(prefix=".env.", dir=directory)
    try:
        with os.fdopen(fd, "w") as f:
            f.write("# written by scripts/stack/seed.py; source it (values are shell-quoted)\n")
            f.writelines(lines)
        os.replace(tmp, path)
    except BaseException:
        os.unlink(tmp)
        raise


def main(argv: list[str]) -> int:
    if len(argv) != 3:
        print(f"usage: {argv[0]} ENDPOINT ENVFILE", file=sys.stderr)
        return 2
    endpoint, env_file = argv[1].rstrip("/"), argv[2]
    health = http("GET", f"{endpoint}/_stack/health")

    set_moto_auth(endpoint, "inf")  # auth off while seeding
    resources = {**seed_account_a(endpoint), **seed_account_b(endpoint)}
    set_moto_auth(endpoint, "0")  # auth on from here: only the keys created above work

    port = endpoint.rsplit(":", 1)[-1]
    values = {
        "NAME": os.environ.get("XACCT_STACK_NAME", "default"),
        "ENDPOINT": endpoint,
        "CONTROL_URL": f"{endpoint}/_stack",
        "PORT": port,
        "REGION": REGION,
        "ACCOUNT_A": ACCOUNT_A,
        "ACCOUNT_B": ACCOUNT_B,
        "ENFORCE": health["enforce"],
        "SHORT_SESSION_SECONDS": str(health["short_session_seconds"]),
        "PID": os.environ.get("XACCT_STACK_PID", ""),
        "EXTERNAL_ID": EXTERNAL_ID,
        "TABLE": TABLE,
        "GSI": GSI,
        **resources,
    }
    write_env_file(env_file, values)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
