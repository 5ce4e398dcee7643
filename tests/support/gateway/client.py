"""Drives the official Python DAX client (amazon-dax-client) through a list of operations.

usage: client.py --endpoint dax://127.0.0.1:PORT --region R [--admin URL] [--retries N]
                 [--read-timeout S] < ops.json

ops.json: [{"op": "PutItem", "params": {...DynamoDB JSON...}}, ...]; an op with "admin": true
goes to botocore against --admin (CreateTable, DeleteTable, waits). {"op": "Sleep", "seconds": s}
pauses. Credentials: AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY / AWS_SESSION_TOKEN. With daxs,
SSL_CERT_FILE names the CA. Prints one JSON list: per op {"ok": true, "output": ...} or
{"ok": false, "code": <error code>, "class": <exception class>, "message": ...}.
"""
import argparse
import base64
import json
import re
import sys
import time

import botocore.session
from botocore.config import Config


def snake(name):
    return re.sub(r"(?<!^)(?=[A-Z])", "_", name).lower()


def plain(v):
    if isinstance(v, (bytes, bytearray)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, dict):
        return {k: plain(x) for k, x in v.items() if k != "ResponseMetadata"}
    if isinstance(v, (list, tuple, set)):
        return [plain(x) for x in v]
    if hasattr(v, "__str__") and type(v).__name__ == "Decimal":
        return str(v)
    return v


def decode_b64(v):
    """DynamoDB JSON binary values arrive base64 encoded; clients want bytes."""
    if isinstance(v, dict):
        out = {}
        for k, x in v.items():
            if k == "B" and isinstance(x, str):
                out[k] = base64.b64decode(x)
            elif k == "BS" and isinstance(x, list):
                out[k] = [base64.b64decode(i) for i in x]
            else:
                out[k] = decode_b64(x)
        return out
    if isinstance(v, list):
        return [decode_b64(x) for x in v]
    return v


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--admin")
    ap.add_argument("--retries", type=int)
    ap.add_argument("--read-timeout", type=float)
    args = ap.parse_args()
    ops = json.load(sys.stdin)
    results = []
    try:
        from amazondax import AmazonDaxClient

        kwargs = {}
        cfg = {}
        if args.retries is not None:
            cfg["retries"] = {"max_attempts": args.retries}
        if args.read_timeout is not None:
            cfg["read_timeout"] = args.read_timeout
        if cfg:
            kwargs["config"] = Config(**cfg)
        dax = AmazonDaxClient(endpoints=[args.endpoint], region_name=args.region, **kwargs)
    except Exception as e:  # construction failed: every op reports it
        err = {"ok": False, "code": getattr(e, "response", {}).get("Error", {}).get("Code"),
               "class": type(e).__name__, "message": str(e), "phase": "construct"}
        print(json.dumps([err for _ in ops], default=str))
        return
    admin = None
    if args.admin:
        admin = botocore.session.get_session().create_client(
            "dynamodb", endpoint_url=args.admin, region_name=args.region)
    for op in ops:
        name = op["op"]
        try:
            if name == "Sleep":
                time.sleep(op["seconds"])
                out = {}
            elif op.get("admin"):
                out = getattr(admin, snake(name))(**op.get("params", {}))
                if name == "CreateTable":
                    admin.get_waiter("table_exists").wait(TableName=op["params"]["TableName"])
            else:
                out = getattr(dax, snake(name))(**decode_b64(op.get("params", {})))
            results.append({"ok": True, "output": plain(out)})
        except Exception as e:  # record the official client's error as it surfaces
            resp = getattr(e, "response", None) or {}
            results.append({
                "ok": False,
                "code": resp.get("Error", {}).get("Code") or getattr(e, "code", None),
                "class": type(e).__name__,
                "message": str(e),
            })
    try:
        dax.close()
    except Exception:
        pass
    print(json.dumps(results, default=str))


main()
