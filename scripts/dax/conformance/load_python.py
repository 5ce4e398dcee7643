#!/usr/bin/env python3
"""Steady load through the official Python DAX client, for the gateway's failover test.

  load_python.py --endpoint dax://127.0.0.1:PORT --region R --table T --prefix K --seconds S
      [--ca-file PEM] [--hash-key pk] [--range-key sk]

Loops for S seconds (or until SIGTERM/SIGINT): PutItem of a new key K-<seq> with a unique value,
GetItem of that key, GetItem of an earlier key that was written successfully (both checked against
the value written). One JSON line per operation on stdout, flushed:
  {"seq": n, "op": "put"|"get", "key": "...", "ok": bool, "error": name|null, "t_ms": ms since start,
   "lat_ms": ms}
and a final {"summary": {...}} line. A get that returns no item or another value is ok=false with
error "ItemMissing" / "ValueMismatch". An http(s):// endpoint uses botocore instead (to test the
driver itself against the local stack). Credentials: the standard AWS_* variables. The table must
exist (hash key S named --hash-key; with --range-key, a N range key, always 0).
"""
from __future__ import annotations

import argparse
import json
import os
import signal
import sys
import time
import uuid


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--table", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--seconds", type=float, required=True)
    ap.add_argument("--ca-file")
    ap.add_argument("--hash-key", default="pk")
    ap.add_argument("--range-key")
    args = ap.parse_args()
    if args.ca_file:
        # see run_python.py: amazondax's TLS context loads OpenSSL's default paths
        os.environ["SSL_CERT_FILE"] = os.path.abspath(args.ca_file)

    stop = [False]

    def on_signal(_sig, _frame):
        stop[0] = True

    signal.signal(signal.SIGTERM, on_signal)
    signal.signal(signal.SIGINT, on_signal)

    import botocore.session
    from botocore.config import Config

    session = botocore.session.get_session()
    if args.endpoint.startswith(("http://", "https://")):
        client = session.create_client("dynamodb", region_name=args.region, endpoint_url=args.endpoint,
                                       config=Config(retries={"max_attempts": 1, "mode": "standard"}))
    else:
        from amazondax import AmazonDaxClient
        client = AmazonDaxClient(session=session, region_name=args.region, endpoints=[args.endpoint])

    def key(k: str) -> dict:
        out = {args.hash_key: {"S": k}}
        if args.range_key:
            out[args.range_key] = {"N": "0"}
        return out

    t0 = time.monotonic()
    stats = {"puts": 0, "puts_ok": 0, "gets": 0, "gets_ok": 0, "errors": {}, "first_error_ms": None,
             "last_error_ms": None}
    last_ok = [0.0]
    longest_gap = [0.0]
    written: list[tuple[str, str]] = []  # (key, value) of successful puts

    def record(seq, op, k, ok, error, started):
        now = (time.monotonic() - t0) * 1000
        line = {"seq": seq, "op": op, "key": k, "ok": ok, "error": error, "t_ms": round(now, 1),
                "lat_ms": round(now - started, 1)}
        sys.stdout.write(json.dumps(line) + "\n")
        sys.stdout.flush()
        stats["puts" if op == "put" else "gets"] += 1
        if ok:
            stats["puts_ok" if op == "put" else "gets_ok"] += 1
            longest_gap[0] = max(longest_gap[0], now - last_ok[0])
            last_ok[0] = now
        else:
            stats["errors"][error] = stats["errors"].get(error, 0) + 1
            if stats["first_error_ms"] is None:
                stats["first_error_ms"] = round(now, 1)
            stats["last_error_ms"] = round(now, 1)

    def error_name(e: Exception) -> str:
        response = getattr(e, "response", None)
        if isinstance(response, dict) and (response.get("Error") or {}).get("Code"):
            return response["Error"]["Code"]
        return getattr(e, "code", None) or type(e).__name__

    def get(seq, k, want):
        started = (time.monotonic() - t0) * 1000
        try:
            item = client.get_item(TableName=args.table, Key=key(k), ConsistentRead=True).get("Item")
            if not item:
                record(seq, "get", k, False, "ItemMissing", started)
            elif item.get("v", {}).get("S") != want:
                record(seq, "get", k, False, "ValueMismatch", started)
            else:
                record(seq, "get", k, True, None, started)
        except Exception as e:  # noqa: BLE001 - every failure is a data point
            record(seq, "get", k, False, error_name(e), started)

    seq = 0
    try:
        while not stop[0] and time.monotonic() - t0 < args.seconds:
            k = f"{args.prefix}-{seq}"
            value = f"{k}-{uuid.uuid4()}"
            started = (time.monotonic() - t0) * 1000
            try:
                client.put_item(TableName=args.table, Item={**key(k), "v": {"S": value}})
                record(seq, "put", k, True, None, started)
                written.append((k, value))
            except Exception as e:  # noqa: BLE001
                record(seq, "put", k, False, error_name(e), started)
            if written and written[-1][0] == k:
                get(seq, k, value)
            if len(written) > 1:
                ek, ev = written[(seq * 7919) % (len(written) - 1)]
                get(seq, ek, ev)
            seq += 1
    finally:
        try:
            client.close()
        except Exception:  # noqa: BLE001
            pass
    elapsed = (time.monotonic() - t0) * 1000
    stats.update(seconds=round(elapsed / 1000, 3), longest_gap_ms=round(max(longest_gap[0], elapsed - last_ok[0]), 1),
                 stopped_by_signal=stop[0])
    sys.stdout.write(json.dumps({"summary": stats}) + "\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
