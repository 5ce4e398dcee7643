#!/usr/bin/env python3
"""Run the DAX conformance matrix with the official Python DAX client or with plain botocore.

  run_python.py --matrix tests/fixtures/dax-conformance/matrix.json --side python-dax|botocore \
      --endpoint URL --admin-endpoint URL --region R --prefix P [--ca-file PEM]

Sides:
  * python-dax: amazondax.AmazonDaxClient (low-level API) at --endpoint (dax://host:port or daxs://...);
  * botocore:   botocore's DynamoDB client at --endpoint (an HTTP DynamoDB endpoint, the local stack).
Tables are created and deleted with botocore at --admin-endpoint (DAX cannot create tables).
Credentials come from the standard AWS_* environment variables.

Prints the result list (scripts/dax/conformance/README.md) as one JSON document on stdout;
diagnostics go to stderr. Exits 0 whatever the rows did (the Rust test judges them); non-zero
only when the runner itself broke (bad arguments, table setup failed, unexpected crash).

Runs in the venv of scripts/dax/setup.sh ($XACCT_TOOLS_HOME/dax/venv), which has both
amazon-dax-client and botocore.
"""
from __future__ import annotations

import argparse
import base64
import json
import os
import sys
import time

OPS = {
    "GetItem": "get_item", "PutItem": "put_item", "UpdateItem": "update_item", "DeleteItem": "delete_item",
    "Query": "query", "Scan": "scan", "BatchGetItem": "batch_get_item", "BatchWriteItem": "batch_write_item",
    "TransactGetItems": "transact_get_items", "TransactWriteItems": "transact_write_items",
}
KEEP = ("Item", "Items", "Count", "ScannedCount", "LastEvaluatedKey", "Attributes", "Responses",
        "UnprocessedItems", "UnprocessedKeys")


def log(*a):
    print("run_python:", *a, file=sys.stderr, flush=True)


# ---------------------------------------------------------------- matrix
def load_matrix(path: str, prefix: str) -> dict:
    with open(path, encoding="utf-8") as f:
        text = f.read()
    return json.loads(text.replace("${p}", prefix))


# ---------------------------------------------------------------- JSON <-> client values
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
    """Client output -> DynamoDB JSON: bytes as base64, sets sorted, empty maps/lists of fields dropped."""
    if isinstance(v, (bytes, bytearray, memoryview)):
        return base64.b64encode(bytes(v)).decode()
    if isinstance(v, dict):
        if len(v) == 1:
            (k, x), = v.items()
            if k in ("SS", "NS") and isinstance(x, (list, tuple, set)):
                return {k: sorted(str(e) for e in x)}
            if k == "BS" and isinstance(x, (list, tuple, set)):
                return {k: sorted(to_json(e) for e in x)}
        return {str(k): to_json(x) for k, x in v.items()}
    if isinstance(v, (list, tuple)):
        return [to_json(x) for x in v]
    return v


def normalise(res: dict) -> dict:
    out = {}
    for k in KEEP:
        if k not in res:
            continue
        v = to_json(res[k])
        if v in ({}, [], None):
            continue
        if k == "Responses" and isinstance(v, dict):
            v = {t: sorted(items, key=lambda i: json.dumps(i, sort_keys=True)) for t, items in v.items()}
        if k == "Responses" and isinstance(v, list):
            # TransactGetItems: one {"Item": ...} per request item, {} when the item does not exist
            v = [{"Item": r["Item"]} if isinstance(r, dict) and r.get("Item") else {} for r in v]
        out[k] = v
    return out


# ---------------------------------------------------------------- errors
def error_result(e: Exception, client, params: dict, key_names: dict) -> dict:
    r = {"outcome": "error", "message": str(e),
         "native": f"{type(e).__module__}.{type(e).__name__}"}
    response = getattr(e, "response", None)
    code = None
    if isinstance(response, dict):
        code = (response.get("Error") or {}).get("Code")
    if code is None:
        code = getattr(e, "code", None)
    r["error"] = code or type(e).__name__
    if isinstance(response, dict):
        msg = (response.get("Error") or {}).get("Message")
        if msg:
            r["message"] = msg
    details = {}
    if isinstance(response, dict):
        # botocore puts the modeled fields of an error (Item, CancellationReasons) beside "Error"
        if response.get("Item"):
            details["Item"] = to_json(response["Item"])
        if response.get("CancellationReasons"):
            details["CancellationReasons"] = [reason_json(x) for x in response["CancellationReasons"]]
    flat = getattr(e, "cancellation_reasons", None)
    if flat and "CancellationReasons" not in details:
        details["CancellationReasons"] = dax_reasons(flat, client, transact_keys(params, key_names))
    if details:
        r["details"] = details
    return r


def reason_json(reason: dict) -> dict:
    out = {"Code": reason.get("Code")}
    if reason.get("Item"):
        out["Item"] = to_json(reason["Item"])
    return out


def dax_reasons(flat, client, keys):
    """amazondax 2.1.0 hands the DAX details' fourth element through undecoded: a flat list of
    (code, message, item) triples, item = CBOR bytes <attrListId, values...> without the key
    (docs/dax-protocol.md §7.4). Decode the item with the client's own decoder and
    attribute-list lookup, and add the request's key back (as the Node client does)."""
    out = []
    for i in range(0, len(flat) - 2, 3):
        code, _msg, item = flat[i], flat[i + 1], flat[i + 2]
        r = {"Code": code}
        if item is not None:
            try:
                decoded = decode_dax_item(bytes(item), client)
                decoded.update(keys[i // 3] if i // 3 < len(keys) else {})
                r["Item"] = to_json(decoded)
            except Exception as ex:  # noqa: BLE001 - reported in the result, judged by the test
                log(f"cannot decode a cancellation reason item: {type(ex).__name__}: {ex}")
                r["ItemUndecoded"] = base64.b64encode(bytes(item)).decode()
        out.append(r)
    return out


def decode_dax_item(raw: bytes, client) -> dict:
    """<attrListId, value...> -> item, through amazondax internals (2.1.0): the stream-item decoder
    and the client's attribute-list cache (which asks the server for an unknown id)."""
    from amazondax import AttributeValueDecoder
    from amazondax.DaxCborDecoder import DaxCborDecoder

    pos = [0]

    def more(buf, n):
        if pos[0] >= len(raw):
            return -1
        buf += raw[pos[0]:pos[0] + n]
        pos[0] += n
        return n

    item = AttributeValueDecoder._decode_stream_item(DaxCborDecoder(more))
    dax = client._cluster.read_client()
    with dax._tube_pool.get() as tube:
        names = dax._attr_list_cache.get(item["_attr_list_id"], tube)
    return AttributeValueDecoder.deanonymize_attribute_values(item, names)


def transact_keys(params: dict, key_names: dict) -> list:
    """The key of every TransactWriteItems item (Put: its key attributes, by the table's schema)."""
    keys = []
    for t in params.get("TransactItems", []):
        (kind, body), = t.items()
        if "Key" in body:
            keys.append(to_client(body["Key"]))
        else:
            names = key_names.get(body.get("TableName"), [])
            keys.append({n: v for n, v in to_client(body.get("Item", {})).items() if n in names})
    return keys


# ---------------------------------------------------------------- running
def call(client, op: str, params: dict, paginate: bool) -> dict:
    fn = getattr(client, OPS[op])
    if not paginate:
        res = fn(**to_client(params))
        return normalise(res)
    items, count, pages = [], 0, 0
    p = to_client(params)
    while True:
        res = fn(**p)
        pages += 1
        items.extend(res.get("Items", []))
        count += res.get("Count", 0)
        lek = res.get("LastEvaluatedKey")
        if not lek:
            break
        p = dict(p, ExclusiveStartKey=lek)
    out = {"Items": to_json(items), "Count": count, "Pages": pages}
    return {k: v for k, v in out.items() if v not in ([], None)}


def run_rows(client, rows: list, key_names: dict) -> list:
    results = []
    for row in rows:
        t0 = time.monotonic()
        try:
            out = call(client, row["op"], row["params"], bool(row.get("paginate")))
            r = {"id": row["id"], "outcome": "ok", "output": out}
        except Exception as e:  # noqa: BLE001 - the error is the row's result
            r = {"id": row["id"], **error_result(e, client, row["params"], key_names)}
        r["ms"] = round((time.monotonic() - t0) * 1000, 1)
        results.append(r)
    return results


def create_tables(admin, m: dict):
    for t in m["tables"]:
        admin.create_table(**t["params"])
    for t in m["tables"]:
        deadline = time.monotonic() + 60
        while True:
            d = admin.describe_table(TableName=t["name"])["Table"]
            gsis = d.get("GlobalSecondaryIndexes") or []
            if d["TableStatus"] == "ACTIVE" and all(g.get("IndexStatus", "ACTIVE") == "ACTIVE" for g in gsis):
                break
            if time.monotonic() > deadline:
                raise RuntimeError(f"table {t['name']} not ACTIVE after 60 s")
            time.sleep(0.2)


def delete_tables(admin, m: dict):
    for t in m["tables"]:
        try:
            admin.delete_table(TableName=t["name"])
        except Exception as e:  # noqa: BLE001 - cleanup is best effort, reported
            log(f"delete {t['name']}: {e}")


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--matrix", required=True)
    ap.add_argument("--side", required=True, choices=["python-dax", "botocore"])
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--admin-endpoint", required=True)
    ap.add_argument("--region", required=True)
    ap.add_argument("--prefix", required=True)
    ap.add_argument("--ca-file", help="PEM bundle to trust for daxs:// (the test CA)")
    ap.add_argument("--only", help="comma-separated row ids (debugging; tables are still created)")
    args = ap.parse_args()

    if args.ca_file:
        # amazondax builds its TLS context with ssl.create_default_context(), which loads OpenSSL's
        # default verify paths; OpenSSL reads SSL_CERT_FILE when they are loaded (per context).
        os.environ["SSL_CERT_FILE"] = os.path.abspath(args.ca_file)

    import botocore.session
    from botocore.config import Config

    m = load_matrix(args.matrix, args.prefix)
    rows = m["rows"]
    if args.only:
        keep = set(args.only.split(","))
        rows = [r for r in rows if r["id"] in keep]
    session = botocore.session.get_session()
    no_retry = Config(retries={"max_attempts": 1, "mode": "standard"}, connect_timeout=5, read_timeout=30)
    admin = session.create_client("dynamodb", region_name=args.region, endpoint_url=args.admin_endpoint,
                                  config=no_retry)
    t0 = time.monotonic()
    create_tables(admin, m)
    log(f"{len(m['tables'])} tables created in {time.monotonic() - t0:.2f}s")
    client = None
    try:
        if args.side == "botocore":
            client = session.create_client("dynamodb", region_name=args.region, endpoint_url=args.endpoint,
                                           config=no_retry)
        else:
            from amazondax import AmazonDaxClient
            try:
                client = AmazonDaxClient(session=session, region_name=args.region, endpoints=[args.endpoint])
            except Exception as e:  # noqa: BLE001 - the runner cannot run at all: say why, exit 3
                log(f"cannot connect the python-dax client to {args.endpoint}: {type(e).__name__}: {e}")
                raise SystemExit(3) from e
        t1 = time.monotonic()
        key_names = {t["name"]: [k["AttributeName"] for k in t["params"]["KeySchema"]] for t in m["tables"]}
        results = run_rows(client, rows, key_names)
        log(f"{len(results)} rows on {args.side} in {time.monotonic() - t1:.2f}s")
    finally:
        if client is not None and hasattr(client, "close"):
            try:
                client.close()
            except Exception as e:  # noqa: BLE001
                log(f"close: {e}")
        delete_tables(admin, m)
    json.dump(results, sys.stdout, ensure_ascii=False)
    sys.stdout.write("\n")
    sys.stdout.flush()
    return 0


if __name__ == "__main__":
    sys.exit(main())
