#!/usr/bin/env python3
"""Drive the official Python DAX client (amazon-dax-client 2.1.0) through the call matrix.

Run inside the venv made by setup.sh (record.sh does this):
  record_python.py --ports PORTS.json --calls CALLS.json --out RESULTS.jsonl

For every call it tells the responder (control channel) "begin <label>", makes the call with
the official client, records the client's result or error, and says "end". Frames are logged
by the responder; build_fixtures.py joins both logs.

Determinism patches (entropy and clock only; nothing that touches encoding):
  * amazondax.Tube.datetime  -> SigV4 signing time fixed at SIGNING_TIME (the client still
    decides *when* to (re)authorise, with its real clock);
  * amazondax.Tube._version_rand -> random.Random(seed): per-pool session ids repeat run to run;
  * botocore.handlers.uuid -> deterministic uuid4 (botocore's idempotency-token handler fills a
    missing ClientRequestToken of TransactWriteItems with it).
"""
from __future__ import annotations

import argparse
import base64
import datetime as _dt
import decimal
import hashlib
import importlib.metadata
import json
import random
import socket
import sys
import time
import types
import uuid

import amazondax
import amazondax.Tube as _tube
import botocore.handlers as _boto_handlers
from amazondax import AmazonDaxClient

CLIENT = "python"
CLIENT_VERSION = importlib.metadata.version("amazon-dax-client")

ACCESS_KEY = "AKIDEXAMPLE"
SECRET_KEY = "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY"
SESSION_TOKEN = "FAKE-SESSION-TOKEN-EXAMPLE"
REGION = "us-east-1"
SIGNING_TIME = _dt.datetime(2026, 1, 2, 3, 4, 5)  # naive UTC, as the client uses it

OPS = {
    "getItem": "get_item", "putItem": "put_item", "updateItem": "update_item", "deleteItem": "delete_item",
    "query": "query", "scan": "scan", "batchGetItem": "batch_get_item", "batchWriteItem": "batch_write_item",
    "transactGetItems": "transact_get_items", "transactWriteItems": "transact_write_items",
}


class _FixedClockDatetime(_dt.datetime):
    @classmethod
    def utcfromtimestamp(cls, t):  # only used by Tube._auth for the SigV4 time
        return SIGNING_TIME


_tube.datetime = types.SimpleNamespace(datetime=_FixedClockDatetime)
_tube._version_rand = random.Random(0x5EED)
_uuid_counter = [0]


def _det_uuid4():
    h = hashlib.sha256(f"python-uuid-{_uuid_counter[0]}".encode()).digest()
    _uuid_counter[0] += 1
    return uuid.UUID(bytes=h[:16], version=4)


# botocore's idempotency-token handler fills a missing ClientRequestToken with uuid.uuid4()
_boto_handlers.uuid = types.SimpleNamespace(uuid4=_det_uuid4)


class Control:
    def __init__(self, port: int):
        self.sock = socket.create_connection(("127.0.0.1", port))
        self.f = self.sock.makefile("rw", encoding="utf-8", newline="\n")

    def call(self, **req):
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        resp = json.loads(self.f.readline())
        if not resp.get("ok"):
            raise RuntimeError(f"control: {resp}")
        return resp

    def begin(self, label, script=None):
        return self.call(cmd="begin", label=label, script=script or {})

    def end(self):
        return self.call(cmd="end")


def to_client(v):
    """DynamoDB JSON (binary as base64) -> botocore-style params (binary as bytes)."""
    if isinstance(v, dict):
        if len(v) == 1 and "B" in v and isinstance(v["B"], str):
            return {"B": base64.b64decode(v["B"])}
        if len(v) == 1 and "BS" in v and isinstance(v["BS"], list):
            return {"BS": [base64.b64decode(x) for x in v["BS"]]}
        return {k: to_client(x) for k, x in v.items()}
    if isinstance(v, list):
        return [to_client(x) for x in v]
    return v


def to_json(v):
    if isinstance(v, (bytes, bytearray)):
        return {"$base64": base64.b64encode(bytes(v)).decode()}
    if isinstance(v, decimal.Decimal):
        return str(v)
    if isinstance(v, dict):
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple, set)):
        return [to_json(x) for x in v]
    if isinstance(v, float):
        return v
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--ports", required=True)
    ap.add_argument("--calls", required=True)
    ap.add_argument("--out", required=True)
    ap.add_argument("--only", help="comma-separated call ids (debugging)")
    args = ap.parse_args()
    ports = json.load(open(args.ports))
    calls = json.load(open(args.calls))
    if args.only:
        keep = set(args.only.split(","))
        calls = [c for c in calls if c["id"] in keep]
    ctl = Control(ports["control_port"])
    out = open(args.out, "w", encoding="utf-8")
    endpoint = f"dax://127.0.0.1:{ports['data_port']}"

    def log(rec):
        rec.update(client=CLIENT, client_version=CLIENT_VERSION)
        out.write(json.dumps(rec, sort_keys=True, ensure_ascii=False) + "\n")
        out.flush()

    meta = {"kind": "meta", "endpoint": "dax://127.0.0.1:<port>", "region": REGION,
            "access_key_id": ACCESS_KEY, "secret_access_key": SECRET_KEY, "session_token": SESSION_TOKEN,
            "signing_time": SIGNING_TIME.strftime("%Y%m%dT%H%M%SZ"), "python": sys.version.split()[0],
            "patches": ["amazondax.Tube.datetime (SigV4 time fixed)",
                        "amazondax.Tube._version_rand = random.Random(0x5EED) (session ids)",
                        "botocore.handlers.uuid.uuid4 (ClientRequestToken when absent = "
                        "sha256(\"python-uuid-<n>\")[0:16] as a v4 UUID)"]}
    log(meta)

    label = f"{CLIENT}:client.construct"
    ctl.begin(label)
    t0 = time.time()
    client = AmazonDaxClient(endpoints=[endpoint], region_name=REGION, aws_access_key_id=ACCESS_KEY,
                             aws_secret_access_key=SECRET_KEY, aws_session_token=SESSION_TOKEN)
    ctl.end()
    log({"kind": "call", "label": label, "id": "client.construct", "outcome": "ok",
         "seconds": round(time.time() - t0, 3)})

    n_ok = n_err = 0
    for call in calls:
        label = f"{CLIENT}:{call['id']}"
        ctl.begin(label, call.get("script"))
        t0 = time.time()
        rec = {"kind": "call", "label": label, "id": call["id"]}
        try:
            res = getattr(client, OPS[call["op"]])(**to_client(call["params"]))
            res.pop("ResponseMetadata", None)
            rec.update(outcome="ok", result=to_json(res))
            n_ok += 1
        except Exception as e:  # noqa: BLE001 - the error is the recorded result
            rec.update(outcome="error", error_type=type(e).__name__, error=str(e))
            if hasattr(e, "response"):
                r = dict(e.response)
                r.pop("ResponseMetadata", None)
                rec["error_response"] = to_json(r)
            for attr in ("codes", "cancellation_reasons"):
                if getattr(e, attr, None) is not None:
                    rec["error_" + attr] = to_json(getattr(e, attr))
            n_err += 1
        ctl.end()
        rec["seconds"] = round(time.time() - t0, 3)
        log(rec)
    client.close()

    # A second client without a session token: authorizeConnection carries null as the token.
    label = f"{CLIENT}:auth.no_token"
    ctl.begin(label)
    c2 = AmazonDaxClient(endpoints=[endpoint], region_name=REGION, aws_access_key_id=ACCESS_KEY,
                         aws_secret_access_key=SECRET_KEY)
    try:
        res = c2.get_item(TableName="t_hS", Key={"pk": {"S": "k1"}})
        res.pop("ResponseMetadata", None)
        log({"kind": "call", "label": label, "id": "auth.no_token", "outcome": "ok", "result": to_json(res)})
    finally:
        c2.close()
        ctl.end()
    print(f"record_python: {n_ok} ok, {n_err} errors, {len(calls)} calls", file=sys.stderr)


if __name__ == "__main__":
    main()
