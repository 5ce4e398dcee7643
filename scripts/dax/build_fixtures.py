#!/usr/bin/env python3
"""Turn the responder's frame logs + the recorders' result logs into fixtures and a manifest.

  build_fixtures.py --work DIR --out crates/dax-protocol/tests/fixtures

DIR holds calls.json and, per client C in (python, node): C.frames.jsonl (responder log) and
C.results.jsonl (recorder log). Writes OUT/<client>/<call-id>[.tryN].{req,resp}.cbor,
OUT/<client>/ctl/*.cbor (preamble and control calls, deduplicated by request bytes) and
OUT/manifest.json. Removes the previous OUT/python, OUT/node and manifest first.
stdlib only.
"""
from __future__ import annotations

import argparse
import hashlib
import json
import os
import shutil
import sys

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daxcbor as C  # noqa: E402

CLIENTS = ["python", "node"]
TABLE_LAYOUT = {f"t_{x}": x for x in ["hS", "hN", "hB"] + [f"h{h}_r{r}" for h in "SNB" for r in "SNB"]}
TABLE_LAYOUT.update(hashonly="hS", composite="hS_rN")
CONTROL = {"preamble", "authorizeConnection", "endpoints", "defineKeySchema", "defineAttributeListId",
           "defineAttributeList"}
RESPONDER = "scripts/dax/responder.py (scripted test responder, NOT an AWS server)"
PRODUCER_CLIENT = {"python": "official Python client amazon-dax-client",
                   "node": "official Node client @amazon-dax-sdk/client-dax"}


def load_jsonl(path):
    with open(path, encoding="utf-8") as f:
        return [json.loads(line) for line in f if line.strip()]


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--work", required=True)
    ap.add_argument("--out", required=True)
    args = ap.parse_args()
    calls = {c["id"]: c for c in json.load(open(os.path.join(args.work, "calls.json"), encoding="utf-8"))}
    # made by both recorders after the matrix, with a second client that has no session token
    calls["auth.no_token"] = {"id": "auth.no_token", "op": "getItem", "key_layout": "hS", "script": {},
                              "params": {"TableName": "t_hS", "Key": {"pk": {"S": "k1"}}},
                              "notes": "second client instance without a session token (auth token = null)"}
    out = args.out
    for c in CLIENTS:
        shutil.rmtree(os.path.join(out, c), ignore_errors=True)
    if os.path.exists(os.path.join(out, "manifest.json")):
        os.remove(os.path.join(out, "manifest.json"))

    entries = []
    clients_meta = {}
    problems = []

    def write(rel, data: bytes, entry: dict):
        path = os.path.join(out, rel)
        os.makedirs(os.path.dirname(path), exist_ok=True)
        with open(path, "wb") as f:
            f.write(data)
        e = {"file": rel, "sha256": hashlib.sha256(data).hexdigest(), "size": len(data)}
        e.update(entry)
        entries.append(e)

    for client in CLIENTS:
        fpath = os.path.join(args.work, f"{client}.frames.jsonl")
        rpath = os.path.join(args.work, f"{client}.results.jsonl")
        if not (os.path.exists(fpath) and os.path.exists(rpath)):
            problems.append(f"{client}: no recording in {args.work}")
            continue
        frames = [e for e in load_jsonl(fpath) if e["ev"] == "frame"]
        results = load_jsonl(rpath)
        meta = next(r for r in results if r["kind"] == "meta")
        version = meta["client_version"]
        clients_meta[client] = {k: v for k, v in meta.items() if k not in ("kind",)}
        by_label = {r["label"]: r for r in results if r["kind"] == "call"}
        replies = {(e["conn"], e["seq"]): e for e in frames if e["dir"] == "s2c"}
        requests = [e for e in frames if e["dir"] == "c2s"]
        base = {"client": client, "client_version": version}

        def req_entry(f, call_info, layout, notes, extra=None):
            d = dict(base)
            d.update(direction="request", producer=f"{PRODUCER_CLIENT[client]} {version}",
                     dax_method=f["method"], call=call_info, key_layout=layout, notes=notes)
            if extra:
                d.update(extra)
            return d

        def resp_entry(f, r, call_info, layout, notes, extra=None):
            d = dict(base)
            d.update(direction="response", producer=RESPONDER, dax_method=f["method"], call=call_info,
                     key_layout=layout, notes=notes, responder_script=r.get("script"))
            if extra:
                d.update(extra)
            return d

        seen_ctl = {}
        data_count = {}
        for f in requests:
            label = f.get("label") or ""
            call_id = label.split(":", 1)[1] if ":" in label else None
            call = calls.get(call_id)
            raw = bytes.fromhex(f["hex"])
            r = replies.get((f["conn"], f["seq"]))
            method = f["method"]
            if method in CONTROL:
                # deduplicate control frames by request bytes; keep the first (and its reply)
                if method == "preamble":
                    key = "preamble"
                elif method == "authorizeConnection":
                    token = C.decode_all(raw)[5]
                    key = f"authorizeConnection.{'token' if token else 'no_token'}"
                elif method == "endpoints":
                    key = "endpoints"
                else:
                    key = (method, raw)
                if key in seen_ctl:
                    seen_ctl[key]["occurrences"] += 1
                    continue
                if method == "preamble":
                    name = "preamble"
                elif method == "authorizeConnection" or method == "endpoints":
                    name = key
                elif method == "defineKeySchema":
                    name = f"defineKeySchema.{C.decode_all(raw)[2].decode()}"
                elif method == "defineAttributeListId":
                    lid = C.decode_all(bytes.fromhex(r["hex"]))[1] if r else "noreply"
                    name = f"defineAttributeListId.{lid}"
                else:
                    name = f"defineAttributeList.{C.decode_all(raw)[2]}"
                info = {"method": method, "triggered_by": call_id or label}
                layout = None
                items = C.decode_all(raw)
                extra = {"occurrences": 1, "conn": f["conn"]}
                notes = ""
                if method == "preamble":
                    info["params"] = {"session_id": items[2].hex() if isinstance(items[2], bytes) else items[2],
                                      "user_agent": items[3]["UserAgent"]}
                    notes = ("connection preamble (5 CBOR items, no reply); session id differs per "
                             "connection pool (made deterministic by the recorder's patch)")
                elif method == "authorizeConnection":
                    info["params"] = {"access_key_id": items[2], "signature": items[3],
                                      "string_to_sign": items[4].decode(), "session_token": items[5],
                                      "user_agent": items[6]}
                    extra["signing_inputs"] = {
                        "access_key_id": meta["access_key_id"], "secret_access_key": meta["secret_access_key"],
                        "session_token": items[5], "region": meta["region"], "signing_time": meta["signing_time"],
                        "service": "dax", "host": "dax.amazonaws.com", "method": "POST", "path": "/",
                        "signed_headers": "host;x-amz-date", "payload": ""}
                    extra["signature_verified_by_responder"] = f.get("sig_ok")
                    notes = "no reply is sent for authorizeConnection"
                elif method == "defineKeySchema":
                    info["params"] = {"table": items[2].decode()}
                    layout = TABLE_LAYOUT.get(items[2].decode())
                elif method == "defineAttributeListId":
                    info["params"] = {"attribute_names": items[2]}
                elif method == "defineAttributeList":
                    info["params"] = {"attribute_list_id": items[2]}
                base_name = f"{client}/ctl/{name}"
                if method == "preamble":
                    write(f"{base_name}.cbor", raw, req_entry(f, info, layout, notes, extra))
                else:
                    write(f"{base_name}.req.cbor", raw, req_entry(f, info, layout, notes, extra))
                seen_ctl[key] = entries[-1]
                if r:
                    write(f"{base_name}.resp.cbor", bytes.fromhex(r["hex"]),
                          resp_entry(f, r, info, layout, "canned reply of the scripted responder"))
                continue
            if call is None:
                problems.append(f"{client}: data frame {method} outside a call window (label {label!r})")
                continue
            want = call["op"]
            if method != want:
                problems.append(f"{client}:{call_id}: unexpected data method {method} (expected {want})")
                continue
            n = data_count.get(call_id, 0) + 1
            data_count[call_id] = n
            stem = f"{client}/{call_id}" + ("" if n == 1 else f".try{n}")
            res = by_label.get(label, {})
            info = {"id": call_id, "op": call["op"], "method": method, "params": call["params"]}
            notes = call.get("notes", "")
            if n > 1:
                notes = (notes + "; " if notes else "") + f"attempt {n}: the client retried after the error reply"
            write(f"{stem}.req.cbor", raw, req_entry(f, info, call["key_layout"], notes, {"attempt": n}))
            if r:
                extra = {"attempt": n, "client_outcome": res.get("outcome")}
                if res.get("outcome") == "ok":
                    extra["client_result"] = res.get("result")
                else:
                    extra["client_error"] = {k[6:] if k.startswith("error_") else k: v for k, v in res.items()
                                             if k.startswith("error")}
                write(f"{stem}.resp.cbor", bytes.fromhex(r["hex"]),
                      resp_entry(f, r, info, call["key_layout"], "canned reply of the scripted responder; "
                                 "client_result is how the official client decoded it", extra))
            else:
                problems.append(f"{client}:{call_id}: no reply recorded")
        for cid, call in calls.items():
            res = by_label.get(f"{client}:{cid}")
            if cid not in data_count and not call.get("expect_no_data"):
                problems.append(f"{client}:{cid}: no data request recorded "
                                f"(client outcome: {res and res.get('outcome')}: {res and res.get('error')})")

    entries.sort(key=lambda e: e["file"])
    manifest = {
        "format": 1,
        "description": ("Golden DAX frames: requests recorded from the official clients, responses are canned "
                        "replies of our scripted responder (not from AWS). Regenerate with scripts/dax/record.sh; "
                        "verify with scripts/dax/check_manifest.py. Binary values in params are base64 "
                        "(DynamoDB JSON); client_result binary values are {\"$base64\": ...}."),
        "clients": clients_meta,
        "fixtures": entries,
    }
    # pretty header, then one compact line per fixture (keeps the file small and diffs readable)
    head = json.dumps({k: v for k, v in manifest.items() if k != "fixtures"}, indent=1, ensure_ascii=False)
    lines = ",\n".join("  " + json.dumps(e, ensure_ascii=False, separators=(",", ":")) for e in entries)
    with open(os.path.join(out, "manifest.json"), "w", encoding="utf-8") as f:
        f.write(head[:-2] + ',\n "fixtures": [\n' + lines + "\n ]\n}\n")
    counts = {}
    for e in entries:
        counts.setdefault((e["client"], e["direction"]), 0)
        counts[(e["client"], e["direction"])] += 1
    for k, v in sorted(counts.items()):
        print(f"{k[0]:7s} {k[1]:9s} {v}")
    print(f"total fixtures: {len(entries)}")
    for p in problems:
        print("PROBLEM: " + p)
    return 0


if __name__ == "__main__":
    sys.exit(main())
