#!/usr/bin/env python3
"""Local two-account AWS endpoint for the cross-account-dynamodb tests: moto behind a fidelity shim.

It serves moto's own WSGI application (the one `moto_server` runs) on loopback, wrapped in a
WSGI middleware that closes the moto 5.2.5 gaps our crate depends on (see
docs/local-stack.md §4):

  G1  requests signed with an expired STS session key are rejected
      (JSON services: HTTP 400 ExpiredTokenException; query services: HTTP 403 ExpiredToken);
  G2  sts:AssumeRole evaluates the target role's trust policy (principals, Deny, sts:ExternalId
      StringEquals/StringLike) for cross-account AND same-account callers; a missing role is denied;
  G3  moto's own same-account trust check learns account principals (ACCT, arn:aws:iam::ACCT:root);
  G4  DurationSeconds is validated with AWS's messages: [900, 43200], the 1 hour role-chaining
      cap, and the role's MaxSessionDuration;
  G5  moto's auth-layer errors (HTTP 403 <ErrorResponse><Errors>...) are rewritten into the wire
      format of the real service, so typed SDKs can read the error code.

Plus, for the tests:
  * short sessions: a role tagged `xacct-stack:short-session=true` gets sessions that last
    XACCT_STACK_SHORT_SESSION_SECONDS (default 20) whatever DurationSeconds asked for (the
    Expiration in the reply and moto's stored expiry are both rewritten);
  * a control surface under /_stack/ (unauthenticated, JSON): health, AssumeRole call log,
    expire-key, session lookup. See `Control` below.

Settings (environment of this process):
  XACCT_STACK_ENFORCE=on|off (default on). `off` turns off every shim check (G1, G2, G4); what is
      left is moto's own behaviour: its IAM auth (signature + identity policies + its literal
      same-account trust check, with the G3 principal fix) and the G5 error rewriting.
  XACCT_STACK_SHORT_SESSION_SECONDS (default 20), active in both modes.
  moto's auth is switched as usual (INITIAL_NO_AUTH_ACTION_COUNT, POST /moto-api/reset-auth).

moto internals relied on (pin moto==5.2.5; re-check all of these on any upgrade):
  * moto.moto_server.werkzeug_app.DomainDispatcherApplication, create_backend_app,
    MotoRequestHandler                                   - the app and handler moto_server uses
  * moto.sts.models.sts_backends[account][partition].assumed_roles: list of AssumedRole with
    .access_key_id, .secret_access_key, .session_token, .expiration (naive UTC datetime, compared
    and rewritten here), .account_id, .role_arn, .arn, .session_name
  * moto.iam.models.iam_backends[account][partition]: .roles (Role: .arn, .name,
    .assume_role_policy_document JSON text, .max_session_duration, .tags list of {Key, Value}),
    .users (User: .arn, .access_keys), .access_keys dict (id -> AccessKey: .access_key_id,
    .secret_access_key, .user_name; STS temp keys live here too and are deleted on rollback)
  * moto.utilities.utils.PARTITION_NAMES; moto.core.models.DEFAULT_ACCOUNT_ID
  * moto.core.authorization.ActionAuthenticatorMixin.request_count and
    moto.settings.INITIAL_NO_AUTH_ACTION_COUNT                - "is moto's auth active"
  * moto.iam.access_control.IAMPolicyStatement._check_principal(self, principal) and
    ._statement                                          - replaced for G3
  * the AssumeRole XML reply carries <AccessKeyId>ASIA...</AccessKeyId> and <Expiration>

Usage: shim.py [--host 127.0.0.1] [--port 0] [--port-file FILE] [--allow-remote]
"""

from __future__ import annotations

import argparse
import datetime as dt
import io
import ipaddress
import json
import os
import re
import signal
import sys
import threading
import uuid
from dataclasses import dataclass
from typing import Any, Callable, Iterable
from urllib.parse import parse_qs

MOTO_VERSION = "5.2.5"

# --------------------------------------------------------------------------------------------
# settings
# --------------------------------------------------------------------------------------------

SHORT_SESSION_TAG = ("xacct-stack:short-session", "true")
CHAINING_MAX_SECONDS = 3600
MIN_DURATION_SECONDS = 900
MAX_DURATION_SECONDS = 43200
DEFAULT_DURATION_SECONDS = 3600
DEFAULT_MAX_SESSION_DURATION = 3600
EXPIRED_MESSAGE = "The security token included in the request is expired"


@dataclass(frozen=True)
class Settings:
    enforce: bool
    short_session_seconds: int

    @classmethod
    def from_env(cls, env: dict[str, str]) -> "Settings":
        enforce = env.get("XACCT_STACK_ENFORCE", "on").strip().lower()
        if enforce not in ("on", "off"):
            raise SystemExit(f"XACCT_STACK_ENFORCE must be 'on' or 'off', not {enforce!r}")
        raw = env.get("XACCT_STACK_SHORT_SESSION_SECONDS", "20").strip()
        if not raw.isdigit() or int(raw) < 1:
            raise SystemExit(f"XACCT_STACK_SHORT_SESSION_SECONDS must be a positive integer, not {raw!r}")
        return cls(enforce=enforce == "on", short_session_seconds=int(raw))


# --------------------------------------------------------------------------------------------
# time: moto stores naive UTC datetimes
# --------------------------------------------------------------------------------------------


def utcnow() -> dt.datetime:
    return dt.datetime.now(dt.timezone.utc).replace(tzinfo=None)


def iso(value: dt.datetime | None) -> str | None:
    """ISO-8601 in UTC with a Z, microseconds like moto's own <Expiration>."""
    if value is None:
        return None
    if value.tzinfo is not None:
        value = value.astimezone(dt.timezone.utc).replace(tzinfo=None)
    return value.strftime("%Y-%m-%dT%H:%M:%S.%fZ")


# --------------------------------------------------------------------------------------------
# moto state lookups (every access to moto internals is in this section and in patch_moto)
# --------------------------------------------------------------------------------------------

ROLE_ARN_RE = re.compile(r"^arn:([^:]+):iam::(\d{12}):role/(.+)$")


class MotoState:
    """Read/modify moto's in-memory backends. Lists are copied before iteration (the server is threaded)."""

    def __init__(self) -> None:
        from moto.core.models import DEFAULT_ACCOUNT_ID
        from moto.iam.models import iam_backends
        from moto.sts.models import sts_backends
        from moto.utilities.utils import PARTITION_NAMES

        self.default_account = DEFAULT_ACCOUNT_ID
        self._iam = iam_backends
        self._sts = sts_backends
        self._partitions = list(PARTITION_NAMES)

    def _backends(self, backend_dict: Any) -> Iterable[Any]:
        for _account, by_partition in list(backend_dict.items()):
            for partition in self._partitions:
                if partition in by_partition:
                    yield by_partition[partition]

    @staticmethod
    def auth_active() -> bool:
        from moto import settings
        from moto.core.authorization import ActionAuthenticatorMixin

        return ActionAuthenticatorMixin.request_count >= settings.INITIAL_NO_AUTH_ACTION_COUNT

    def find_session(self, access_key_id: str) -> Any | None:
        """The AssumedRole issued with this key, or None."""
        if not access_key_id.startswith("ASIA"):
            return None
        for backend in self._backends(self._sts):
            for session in list(backend.assumed_roles):
                if session.access_key_id == access_key_id:
                    return session
        return None

    def find_user_key(self, access_key_id: str) -> tuple[Any, Any] | None:
        """(user, access key) for an IAM user's key, or None."""
        for backend in self._backends(self._iam):
            key = backend.access_keys.get(access_key_id)
            if key is not None and key.user_name:
                user = backend.users.get(key.user_name)
                if user is not None:
                    return user, key
        return None

    def find_role(self, role_arn: str) -> Any | None:
        m = ROLE_ARN_RE.match(role_arn or "")
        if not m:
            return None
        partition, account = m.group(1), m.group(2)
        if account not in self._iam:  # do not create backends for unknown accounts
            return None
        by_partition = self._iam[account]
        if partition not in self._partitions:
            return None
        for role in list(by_partition[partition].roles.values()):
            if role.arn == role_arn:
                return role
        return None

    def rollback_session(self, session: Any) -> None:
        """Forget a session moto issued but the shim refused (the key was never handed out)."""
        for backend in self._backends(self._sts):
            try:
                backend.assumed_roles.remove(session)
            except ValueError:
                continue
        for backend in self._backends(self._iam):
            backend.access_keys.pop(session.access_key_id, None)

    @staticmethod
    def role_is_short_session(role: Any) -> bool:
        key, value = SHORT_SESSION_TAG
        for tag in getattr(role, "tags", None) or []:
            if isinstance(tag, dict) and tag.get("Key") == key and str(tag.get("Value")).lower() == value:
                return True
        return False

    @staticmethod
    def role_max_session(role: Any) -> int:
        return int(getattr(role, "max_session_duration", None) or DEFAULT_MAX_SESSION_DURATION)


@dataclass(frozen=True)
class Caller:
    account: str
    arns: tuple[str, ...]  # the first one is reported in messages
    known: bool  # the key belongs to a moto user or session
    chained: bool  # the key is itself an STS session key (role chaining)

    @property
    def arn(self) -> str:
        return self.arns[0]


def identify_caller(state: MotoState, access_key_id: str, environ: dict[str, Any]) -> Caller:
    session = state.find_session(access_key_id)
    if session is not None:
        role_name = session.role_arn.split("/")[-1]
        role_arn = f"arn:aws:iam::{session.account_id}:role/{role_name}"
        return Caller(session.account_id, (session.arn, role_arn), known=True, chained=True)
    found = state.find_user_key(access_key_id)
    if found is not None:
        user, _key = found
        return Caller(user.account_id, (user.arn,), known=True, chained=False)
    # same fallback as moto's get_current_account
    account = (
        os.environ.get("MOTO_ACCOUNT_ID")
        or environ.get("HTTP_X_MOTO_ACCOUNT_ID")
        or state.default_account
    )
    return Caller(account, (f"arn:aws:iam::{account}:user/moto",), known=False, chained=False)


# --------------------------------------------------------------------------------------------
# trust policy evaluation (G2)
# --------------------------------------------------------------------------------------------


def _as_list(value: Any) -> list[Any]:
    if value is None:
        return []
    return [value] if isinstance(value, (str, dict)) else list(value)


def principal_matches(principal: Any, account: str, arns: Iterable[str]) -> bool:
    """Principal "*", or its AWS entry naming *, the account id, ACCT:root, or one of the ARNs."""
    if principal == "*":
        return True
    if not isinstance(principal, dict) or "AWS" not in principal:
        return False  # Service / Federated principals never match an IAM caller
    arns = set(arns)
    for entry in _as_list(principal["AWS"]):
        if entry in ("*", account, f"arn:aws:iam::{account}:root") or entry in arns:
            return True
    return False


def _like(pattern: str, value: str) -> bool:
    regex = "".join(".*" if c == "*" else "." if c == "?" else re.escape(c) for c in pattern)
    return re.fullmatch(regex, value, re.DOTALL) is not None


def conditions_hold(conditions: dict[str, Any] | None, context: dict[str, str]) -> bool:
    """StringEquals / StringLike only; unknown operators and absent keys fail closed."""
    for operator, entries in (conditions or {}).items():
        for key, wanted in entries.items():
            have = context.get(key)
            wanted = [str(w) for w in _as_list(wanted)]
            if have is None:
                return False
            if operator == "StringEquals":
                ok = have in wanted
            elif operator == "StringLike":
                ok = any(_like(w, have) for w in wanted)
            else:
                ok = False
            if not ok:
                return False
    return True


def trust_allows(document: str, caller: Caller, context: dict[str, str]) -> bool:
    try:
        policy = json.loads(document)
    except (TypeError, ValueError):
        return False
    allowed = False
    for statement in _as_list(policy.get("Statement")):
        if not isinstance(statement, dict):
            continue
        actions = _as_list(statement.get("Action"))
        if not any(a in ("sts:AssumeRole", "sts:*", "*") for a in actions):
            continue
        if not principal_matches(statement.get("Principal"), caller.account, caller.arns):
            continue
        if not conditions_hold(statement.get("Condition"), context):
            continue
        if statement.get("Effect") == "Deny":
            return False
        if statement.get("Effect") == "Allow":
            allowed = True
    return allowed


def patch_moto_principal_check() -> None:
    """G3: moto compares same-account trust principals literally; teach it account principals."""
    from moto.iam import access_control

    def _check_principal(self: Any, principal: str) -> bool:
        expected = self._statement.get("Principal")
        if not expected:
            return True
        m = re.match(r"^arn:[^:]+:(?:iam|sts)::(\d{12}):(.*)$", principal or "")
        account = m.group(1) if m else ""
        arns = [principal]
        if m and m.group(2).startswith("assumed-role/"):
            arns.append(f"arn:aws:iam::{account}:role/{m.group(2).split('/')[1]}")
        return principal_matches(expected, account, arns)

    access_control.IAMPolicyStatement._check_principal = _check_principal


# --------------------------------------------------------------------------------------------
# wire formats
# --------------------------------------------------------------------------------------------

QUERY_NAMESPACES = {
    "sts": "https://sts.amazonaws.com/doc/2011-06-15/",
    "iam": "https://iam.amazonaws.com/doc/2010-05-08/",
}
JSON_CODES = {  # query-style code (moto's auth layer) -> what JSON-protocol services send
    "InvalidClientTokenId": "UnrecognizedClientException",
    "SignatureDoesNotMatch": "InvalidSignatureException",
    "AccessDenied": "AccessDeniedException",
    "ExpiredToken": "ExpiredTokenException",
}
REASONS = {200: "OK", 400: "Bad Request", 403: "Forbidden", 404: "Not Found", 405: "Method Not Allowed"}


def _xml_escape(text: str) -> str:
    return text.replace("&", "&amp;").replace("<", "&lt;").replace(">", "&gt;").replace('"', "&quot;")


def _xml_unescape(text: str) -> str:
    return text.replace("&lt;", "<").replace("&gt;", ">").replace("&quot;", '"').replace("&apos;", "'").replace("&amp;", "&")


@dataclass
class Reply:
    status: int
    headers: list[tuple[str, str]]
    body: bytes

    def send(self, start_response: Callable[..., Any]) -> list[bytes]:
        headers = [(k, v) for k, v in self.headers if k.lower() not in ("content-length", "connection")]
        headers.append(("Content-Length", str(len(self.body))))
        start_response(f"{self.status} {REASONS.get(self.status, 'Unknown')}", headers)
        return [self.body]


class AwsError(Exception):
    """An error the shim answers itself, in the request's protocol."""

    def __init__(self, code: str, message: str, query_status: int = 403):
        super().__init__(message)
        self.code, self.message, self.query_status = code, message, query_status


@dataclass(frozen=True)
class Signed:
    """What the shim needs to know about a SigV4-signed request."""

    access_key_id: str
    service: str
    is_json: bool
    content_type: str

    def error(self, err: AwsError) -> Reply:
        request_id = str(uuid.uuid4())
        if self.is_json:
            code = JSON_CODES.get(err.code, err.code)
            body = json.dumps({"__type": f"com.amazon.coral.service#{code}", "message": err.message}).encode()
            return Reply(400, [("Content-Type", self.content_type), ("x-amzn-RequestId", request_id)], body)
        ns = QUERY_NAMESPACES.get(self.service, QUERY_NAMESPACES["sts"])
        body = (
            f'<ErrorResponse xmlns="{ns}"><Error><Type>Sender</Type><Code>{_xml_escape(err.code)}</Code>'
            f"<Message>{_xml_escape(err.message)}</Message></Error><RequestId>{request_id}</RequestId></ErrorResponse>"
        ).encode()
        return Reply(err.query_status, [("Content-Type", "text/xml"), ("x-amzn-RequestId", request_id)], body)


CREDENTIAL_RE = re.compile(r"Credential=([^/,\s]+)/[^/]+/([^/]+)/([^/]+)/")
MOTO_AUTH_ERROR_MARK = b"<ErrorResponse><Errors>"
XML_CODE_RE = re.compile(rb"<Code>([^<]*)</Code>")
XML_MESSAGE_RE = re.compile(rb"<Message>([^<]*)</Message>")
ACCESS_KEY_XML_RE = re.compile(rb"<AccessKeyId>([^<]+)</AccessKeyId>")
EXPIRATION_XML_RE = re.compile(rb"<Expiration>[^<]*</Expiration>")


def parse_signed(environ: dict[str, Any]) -> Signed | None:
    m = CREDENTIAL_RE.search(environ.get("HTTP_AUTHORIZATION", ""))
    if not m:
        return None
    return Signed(
        access_key_id=m.group(1),
        service=m.group(3),
        is_json=bool(environ.get("HTTP_X_AMZ_TARGET")),
        content_type=environ.get("CONTENT_TYPE") or "application/x-amz-json-1.0",
    )


def rewrite_moto_auth_error(signed: Signed, reply: Reply) -> Reply:
    """G5: moto's auth layer answers 403 <ErrorResponse><Errors><Error>...; answer as the service would."""
    if reply.status != 403 or MOTO_AUTH_ERROR_MARK not in reply.body:
        return reply
    code = XML_CODE_RE.search(reply.body)
    message = XML_MESSAGE_RE.search(reply.body)
    return signed.error(
        AwsError(
            _xml_unescape(code.group(1).decode()) if code else "AccessDenied",
            _xml_unescape(message.group(1).decode()) if message else "",
        )
    )


def error_code_of(reply: Reply) -> str:
    if reply.status < 400:
        return "ok"
    m = XML_CODE_RE.search(reply.body)
    if m:
        return m.group(1).decode()
    try:
        return str(json.loads(reply.body).get("__type", "")).split("#")[-1] or f"HTTP{reply.status}"
    except ValueError:
        return f"HTTP{reply.status}"


# --------------------------------------------------------------------------------------------
# AssumeRole call log
# --------------------------------------------------------------------------------------------


class CallLog:
    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._calls: list[dict[str, Any]] = []

    def add(self, call: dict[str, Any]) -> None:
        with self._lock:
            self._calls.append(call)

    def query(self, role_arn: str | None, session_name: str | None) -> dict[str, Any]:
        with self._lock:
            calls = [
                dict(c)
                for c in self._calls
                if (role_arn is None or c["role_arn"] == role_arn)
                and (session_name is None or c["session_name"] == session_name)
            ]
        return {
            "count": sum(1 for c in calls if c["outcome"] == "ok"),
            "attempts": len(calls),
            "calls": calls,
        }


# --------------------------------------------------------------------------------------------
# the middleware
# --------------------------------------------------------------------------------------------


def json_reply(status: int, payload: Any) -> Reply:
    return Reply(status, [("Content-Type", "application/json")], (json.dumps(payload) + "\n").encode())


class Shim:
    CONTROL_PREFIX = "/_stack/"

    def __init__(self, app: Callable[..., Any], settings: Settings, state: MotoState) -> None:
        self.app = app
        self.settings = settings
        self.state = state
        self.calls = CallLog()

    # ---- WSGI entry point ----

    def __call__(self, environ: dict[str, Any], start_response: Callable[..., Any]) -> Iterable[bytes]:
        path = environ.get("PATH_INFO", "")
        if path.startswith(self.CONTROL_PREFIX) or path == self.CONTROL_PREFIX.rstrip("/"):
            return self.control(environ).send(start_response)
        signed = parse_signed(environ)
        if signed is None:  # /moto-api/..., unsigned requests: moto's business
            return self.app(environ, start_response)
        try:
            reply = self.handle_signed(environ, signed)
        except AwsError as err:
            reply = signed.error(err)
        return reply.send(start_response)

    def call_moto(self, environ: dict[str, Any]) -> Reply:
        captured: dict[str, Any] = {}
        written: list[bytes] = []

        def start_response(status: str, headers: list[tuple[str, str]], exc_info: Any = None) -> Callable[[bytes], None]:
            captured["status"], captured["headers"] = status, headers
            return written.append

        result = self.app(environ, start_response)
        try:
            written.extend(result)
        finally:
            close = getattr(result, "close", None)
            if close is not None:
                close()
        return Reply(int(captured["status"].split()[0]), list(captured["headers"]), b"".join(written))

    def handle_signed(self, environ: dict[str, Any], signed: Signed) -> Reply:
        if self.settings.enforce:
            self.check_not_expired(signed)
        if signed.service == "sts" and not signed.is_json:
            form = self.read_form(environ)
            if form.get("Action") == "AssumeRole":
                return self.assume_role(environ, signed, form)
        return rewrite_moto_auth_error(signed, self.call_moto(environ))

    # ---- G1 ----

    def check_not_expired(self, signed: Signed) -> None:
        session = self.state.find_session(signed.access_key_id)
        if session is not None and session.expiration <= utcnow():
            raise AwsError("ExpiredToken", EXPIRED_MESSAGE)

    # ---- request body ----

    @staticmethod
    def read_form(environ: dict[str, Any]) -> dict[str, str]:
        """Parse the query-protocol form (body + query string) and give moto the body back."""
        stream = environ["wsgi.input"]
        length = environ.get("CONTENT_LENGTH") or ""
        if length.isdigit():
            body = stream.read(int(length))
        elif environ.get("wsgi.input_terminated"):
            body = stream.read()
        else:
            body = b""
        environ["wsgi.input"] = io.BytesIO(body)
        environ["CONTENT_LENGTH"] = str(len(body))
        form: dict[str, str] = {}
        for source in (body.decode("utf-8", "replace"), environ.get("QUERY_STRING", "")):
            for key, values in parse_qs(source, keep_blank_values=True).items():
                form.setdefault(key, values[0])
        return form

    # ---- AssumeRole (G2, G4, short sessions, call log) ----

    def assume_role(self, environ: dict[str, Any], signed: Signed, form: dict[str, str]) -> Reply:
        role_arn = form.get("RoleArn", "")
        caller = identify_caller(self.state, signed.access_key_id, environ)
        call: dict[str, Any] = {
            "role_arn": role_arn,
            "session_name": form.get("RoleSessionName", ""),
            "caller_arn": caller.arn if caller.known else None,
            "outcome": None,
            "access_key_id": None,
            "expiration": None,
            "duration_requested": None,
            "at": iso(utcnow()),
        }
        try:
            reply = self._assume_role(environ, signed, form, caller, role_arn, call)
        except AwsError as err:
            reply = signed.error(err)
        call["outcome"] = error_code_of(reply)
        self.calls.add(call)
        return reply

    def _assume_role(
        self, environ: dict[str, Any], signed: Signed, form: dict[str, str], caller: Caller, role_arn: str, call: dict[str, Any]
    ) -> Reply:
        raw_duration = form.get("DurationSeconds")
        duration = DEFAULT_DURATION_SECONDS
        if raw_duration is not None:
            try:
                duration = int(raw_duration)
            except ValueError:
                raise AwsError(
                    "ValidationError",
                    f"1 validation error detected: Value '{raw_duration}' at 'durationSeconds' failed to satisfy "
                    "constraint: Member must be a number",
                    400,
                ) from None
            call["duration_requested"] = duration

        # input validation first, as AWS does once the caller is authenticated (an unknown key is left
        # to moto while its auth is on, so that the caller gets InvalidClientTokenId, not this)
        if self.settings.enforce and (caller.known or not self.state.auth_active()):
            self.check_duration_bounds(duration)

        reply = self.call_moto(environ)  # signature, identity policy, moto's same-account trust check
        if reply.status != 200:
            if reply.status == 403 and MOTO_AUTH_ERROR_MARK in reply.body and b"<Code>AccessDenied</Code>" in reply.body:
                # moto says "... not authorized to perform: sts:AssumeRole"; AWS names the role too
                raise AwsError(
                    "AccessDenied",
                    f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
                )
            return rewrite_moto_auth_error(signed, reply)

        key_match = ACCESS_KEY_XML_RE.search(reply.body)
        session = self.state.find_session(key_match.group(1).decode()) if key_match else None
        if session is None:  # should not happen; hand moto's answer over untouched
            return reply

        role = self.state.find_role(role_arn)
        if self.settings.enforce:
            try:
                self.check_trust(role, role_arn, caller, form)
                self.check_duration_for_role(role, duration, caller)
            except AwsError:
                self.state.rollback_session(session)
                raise

        if role is not None and self.state.role_is_short_session(role):
            session.expiration = utcnow() + dt.timedelta(seconds=self.settings.short_session_seconds)
            reply.body = EXPIRATION_XML_RE.sub(
                f"<Expiration>{iso(session.expiration)}</Expiration>".encode(), reply.body, count=1
            )
        call["access_key_id"] = session.access_key_id
        call["expiration"] = iso(session.expiration)
        return reply

    @staticmethod
    def check_duration_bounds(duration: int) -> None:
        if duration < MIN_DURATION_SECONDS:
            raise AwsError(
                "ValidationError",
                f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: "
                f"Member must have value greater than or equal to {MIN_DURATION_SECONDS}",
                400,
            )
        if duration > MAX_DURATION_SECONDS:
            raise AwsError(
                "ValidationError",
                f"1 validation error detected: Value '{duration}' at 'durationSeconds' failed to satisfy constraint: "
                f"Member must have value less than or equal to {MAX_DURATION_SECONDS}",
                400,
            )

    @staticmethod
    def check_trust(role: Any | None, role_arn: str, caller: Caller, form: dict[str, str]) -> None:
        context = {"sts:ExternalId": form["ExternalId"]} if "ExternalId" in form else {}
        if role is None or not trust_allows(role.assume_role_policy_document, caller, context):
            raise AwsError(
                "AccessDenied",
                f"User: {caller.arn} is not authorized to perform: sts:AssumeRole on resource: {role_arn}",
            )

    def check_duration_for_role(self, role: Any, duration: int, caller: Caller) -> None:
        if caller.chained and duration > CHAINING_MAX_SECONDS:
            raise AwsError(
                "ValidationError",
                "The requested DurationSeconds exceeds the 1 hour session limit for roles assumed by role chaining.",
                400,
            )
        if duration > self.state.role_max_session(role):
            raise AwsError(
                "ValidationError",
                "The requested DurationSeconds exceeds the MaxSessionDuration set for this role.",
                400,
            )

    # ---- control surface ----

    def control(self, environ: dict[str, Any]) -> Reply:
        method = environ.get("REQUEST_METHOD", "GET")
        route = environ.get("PATH_INFO", "")[len(self.CONTROL_PREFIX):].strip("/")
        query = {k: v[0] for k, v in parse_qs(environ.get("QUERY_STRING", ""), keep_blank_values=True).items()}
        routes = {
            ("GET", "health"): self.ctl_health,
            ("GET", "assume-role-calls"): self.ctl_calls,
            ("POST", "expire-key"): self.ctl_expire_key,
            ("GET", "session"): self.ctl_session,
        }
        handler = routes.get((method, route))
        if handler is None:
            if any(r == route for _m, r in routes):
                return json_reply(405, {"error": f"method {method} not allowed on /_stack/{route}"})
            return json_reply(404, {"error": f"no such control endpoint: /_stack/{route}"})
        try:
            return handler(environ, query)
        except ValueError as err:
            return json_reply(400, {"error": str(err)})

    def ctl_health(self, _environ: dict[str, Any], _query: dict[str, str]) -> Reply:
        return json_reply(200, {
            "ok": True,
            "enforce": "on" if self.settings.enforce else "off",
            "short_session_seconds": self.settings.short_session_seconds,
            "moto_auth": self.state.auth_active(),
            "moto_version": MOTO_VERSION,
        })

    def ctl_calls(self, _environ: dict[str, Any], query: dict[str, str]) -> Reply:
        return json_reply(200, self.calls.query(query.get("role_arn"), query.get("session_name")))

    def ctl_expire_key(self, environ: dict[str, Any], _query: dict[str, str]) -> Reply:
        length = environ.get("CONTENT_LENGTH") or "0"
        raw = environ["wsgi.input"].read(int(length)) if length.isdigit() else b""
        try:
            payload = json.loads(raw or b"{}")
        except ValueError:
            raise ValueError("body must be JSON: {\"access_key_id\": \"ASIA...\"}") from None
        key = payload.get("access_key_id") if isinstance(payload, dict) else None
        if not isinstance(key, str) or not key:
            raise ValueError("body must be JSON: {\"access_key_id\": \"ASIA...\"}")
        session = self.state.find_session(key)
        if session is None:
            return json_reply(404, {"error": f"no STS session with access key {key}"})
        session.expiration = utcnow()
        return json_reply(200, {"access_key_id": key, "expiration": iso(session.expiration)})

    def ctl_session(self, _environ: dict[str, Any], query: dict[str, str]) -> Reply:
        key = query.get("access_key_id")
        if not key:
            raise ValueError("query parameter access_key_id is required")
        session = self.state.find_session(key)
        if session is not None:
            role_name = session.role_arn.split("/")[-1]
            return json_reply(200, {
                "access_key_id": session.access_key_id,
                "secret_access_key": session.secret_access_key,
                "session_token": session.session_token,
                "expiration": iso(session.expiration),
                "role_arn": session.role_arn,
                "assumed_role_arn": session.arn,
                "account_id": session.account_id,
                "role_name": role_name,
                "session_name": session.session_name,
            })
        found = self.state.find_user_key(key)
        if found is not None:
            user, access_key = found
            return json_reply(200, {
                "access_key_id": access_key.access_key_id,
                "secret_access_key": access_key.secret_access_key,
                "account_id": user.account_id,
                "user_arn": user.arn,
                "status": access_key.status,
            })
        return json_reply(404, {"error": f"unknown access key {key}"})


# --------------------------------------------------------------------------------------------
# server
# --------------------------------------------------------------------------------------------


def is_loopback(host: str) -> bool:
    if host == "localhost":
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def write_atomically(path: str, text: str) -> None:
    tmp = f"{path}.tmp.{os.getpid()}"
    with open(tmp, "w") as f:
        f.write(text)
        f.flush()
        os.fsync(f.fileno())
    os.replace(tmp, path)


def check_moto_version() -> None:
    from importlib.metadata import version

    found = version("moto")
    if found != MOTO_VERSION:
        print(f"shim.py: warning: written against moto=={MOTO_VERSION}, found {found}", file=sys.stderr)


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=0)
    parser.add_argument("--port-file")
    parser.add_argument("--allow-remote", action="store_true", help="allow a --host that is not loopback")
    args = parser.parse_args(argv)
    if not is_loopback(args.host) and not args.allow_remote:
        parser.error(f"refusing to bind {args.host}: not a loopback address (pass --allow-remote to insist)")

    settings = Settings.from_env(dict(os.environ))
    if "MOTO_ACCOUNT_ID" in os.environ:
        parser.error("MOTO_ACCOUNT_ID is set: it would force every request into one account")

    from werkzeug.serving import make_server
    from moto.moto_server.werkzeug_app import DomainDispatcherApplication, MotoRequestHandler, create_backend_app

    check_moto_version()
    patch_moto_principal_check()
    app = Shim(DomainDispatcherApplication(create_backend_app), settings, MotoState())
    server = make_server(args.host, args.port, app, threaded=True, request_handler=MotoRequestHandler)
    port = server.server_address[1]
    os.environ.setdefault("MOTO_PORT", str(port))

    def on_sigterm(_signum: int, _frame: Any) -> None:
        raise SystemExit(0)

    signal.signal(signal.SIGTERM, on_sigterm)
    if args.port_file:
        write_atomically(args.port_file, f"{port}\n")
    print(
        f"xacct stack shim listening on http://{args.host}:{port} "
        f"(enforce={'on' if settings.enforce else 'off'}, short_session_seconds={settings.short_session_seconds})",
        flush=True,
    )
    try:
        server.serve_forever()
    except (KeyboardInterrupt, SystemExit):
        pass
    finally:
        server.socket.close()
    print("xacct stack shim stopped", flush=True)
    return 0


if __name__ == "__main__":
    sys.exit(main())
