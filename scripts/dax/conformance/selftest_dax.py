#!/usr/bin/env python3
"""Self-test of the DAX paths of the runners (python-dax in run_python.py, node-dax in run_node.js)
against the scripted responder (scripts/dax/responder.py: canned replies, NOT DynamoDB).

The matrix itself needs a real backend (the gateway); this checks, without one, that both runners
turn the official clients' results and errors into the shared result format alike: the output of
an item with binary and sets, the error names, and transaction cancellation reasons with the
ALL_OLD item (amazondax leaves those undecoded; run_python.py decodes them).

  $XACCT_TOOLS_HOME/dax/venv/bin/python selftest_dax.py      # exit 0 = pass, 1 = mismatch
"""
from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
import tempfile
import time

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
HERE = os.path.dirname(os.path.abspath(__file__))
sys.path.insert(0, HERE)
import run_python as rp  # noqa: E402

RICH = {"bin": {"B": "AP8="}, "bool": {"BOOL": True}, "bs": {"BS": ["", "AQ=="]},
        "list": {"L": [{"S": "x"}, {"N": "1"}]}, "map": {"M": {"k": {"S": "v"}, "n": {"N": "1.5"}}},
        "ns": {"NS": ["1", "2.5"]}, "nul": {"NULL": True}, "num": {"N": "-12.50"}, "ss": {"SS": ["a", "b"]},
        "str": {"S": "h\u00e9llo"}}
TX = {"TransactItems": [
    {"Put": {"TableName": "t_hS", "Item": {"pk": {"S": "k1"}, "a": {"N": "1"}}}},
    {"ConditionCheck": {"TableName": "t_hS", "Key": {"pk": {"S": "k2"}}, "ConditionExpression": "attribute_exists(pk)",
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}]}
CASES = [
    {"id": "get", "op": "GetItem", "params": {"TableName": "t_hS", "Key": {"pk": {"S": "k1"}}}, "script": {},
     "want": {"outcome": "ok", "output": {"Item": {"pk": {"S": "k1"}, **RICH}}}},
    {"id": "get-missing", "op": "GetItem", "params": {"TableName": "t_hS", "Key": {"pk": {"S": "k1"}}},
     "script": {"missing": True}, "want": {"outcome": "ok", "output": {}}},
    {"id": "tx-cancel", "op": "TransactWriteItems", "params": TX, "script": {"error": "TransactionCanceled"},
     "want": {"outcome": "error", "error": "TransactionCanceledException", "details": {"CancellationReasons": [
         {"Code": "None"}, {"Code": "ConditionalCheckFailed", "Item": {"pk": {"S": "k2"}, **RICH}}]}}},
    {"id": "ccf", "op": "PutItem", "params": {"TableName": "t_hS", "Item": {"pk": {"S": "k1"}}},
     "script": {"error": "ConditionalCheckFailed"}, "want": {"outcome": "error", "error": "ConditionalCheckFailedException"}},
    {"id": "rnf", "op": "Query", "params": {"TableName": "t_hS", "KeyConditionExpression": "pk = :p",
                                            "ExpressionAttributeValues": {":p": {"S": "x"}}},
     "script": {"error": "ResourceNotFound"}, "want": {"outcome": "error", "error": "ResourceNotFoundException"}},
    {"id": "validation", "op": "DeleteItem", "params": {"TableName": "t_hS", "Key": {"pk": {"S": "k1"}}},
     "script": {"error": "Validation"}, "want": {"outcome": "error", "error": "ValidationException"}},
]


class Control:
    def __init__(self, port):
        self.f = socket.create_connection(("127.0.0.1", port)).makefile("rw", encoding="utf-8", newline="\n")

    def __call__(self, **req):
        self.f.write(json.dumps(req) + "\n")
        self.f.flush()
        resp = json.loads(self.f.readline())
        if not resp.get("ok"):
            raise RuntimeError(f"control: {resp}")


def python_side(ports) -> list:
    import botocore.session
    from amazondax import AmazonDaxClient
    ctl = Control(ports["control_port"])
    client = AmazonDaxClient(session=botocore.session.get_session(), region_name="us-east-1",
                             endpoints=[f"dax://127.0.0.1:{ports['data_port']}"])
    out = []
    try:
        for k in CASES:
            ctl(cmd="begin", label=f"python:{k['id']}", script=k["script"])
            try:
                out.append({"id": k["id"], "outcome": "ok", "output": rp.call(client, k["op"], k["params"], False)})
            except Exception as e:  # noqa: BLE001 - the error is the result
                out.append({"id": k["id"], **rp.error_result(e, client, k["params"], {"t_hS": ["pk"]})})
            ctl(cmd="end")
    finally:
        client.close()
    return out


def node_side(ports_file, work) -> list:
    cases_file = os.path.join(work, "cases.json")
    with open(cases_file, "w", encoding="utf-8") as f:
        json.dump([{k: v for k, v in c.items() if k != "want"} for c in CASES], f)
    r = subprocess.run(["node", os.path.join(HERE, "selftest_node.js"), "--ports", ports_file, "--cases", cases_file],
                       capture_output=True, text=True, timeout=60, check=False)
    if r.returncode != 0:
        raise RuntimeError(f"selftest_node.js failed ({r.returncode}): {r.stderr}")
    return json.loads(r.stdout)


def compare(side, results) -> list:
    problems = []
    for k, r in zip(CASES, results):
        want = k["want"]
        got = {"outcome": r.get("outcome")}
        if "error" in want:
            got["error"] = r.get("error")
        if "output" in want:
            got["output"] = r.get("output")
        if "details" in want or r.get("details"):
            got["details"] = r.get("details")
        if got != want:
            problems.append(f"{side} {k['id']}: got {json.dumps(got, sort_keys=True)}\n"
                            f"   want {json.dumps(want, sort_keys=True)}")
    if len(results) != len(CASES):
        problems.append(f"{side}: {len(results)} results for {len(CASES)} cases")
    return problems


def main() -> int:
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDEXAMPLE")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY")
    with tempfile.TemporaryDirectory(prefix="dax-selftest-") as work:
        ports_file = os.path.join(work, "ports.json")
        resp = subprocess.Popen([sys.executable, os.path.join(HERE, "..", "responder.py"), "--port", "0",
                                 "--ports-file", ports_file, "--log", os.path.join(work, "frames.jsonl")],
                                stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
        try:
            deadline = time.monotonic() + 20
            while not (os.path.exists(ports_file) and os.path.getsize(ports_file) > 0):
                if resp.poll() is not None or time.monotonic() > deadline:
                    raise RuntimeError(f"responder did not start: {resp.stderr.read().decode()}")
                time.sleep(0.05)
            time.sleep(0.05)
            with open(ports_file, encoding="utf-8") as f:
                ports = json.load(f)
            problems = compare("python-dax", python_side(ports)) + compare("node-dax", node_side(ports_file, work))
        finally:
            resp.terminate()
            try:
                resp.wait(timeout=5)
            except subprocess.TimeoutExpired:
                resp.kill()
                resp.wait()
    for p in problems:
        print(p, file=sys.stderr)
    print(f"selftest_dax: {len(CASES)} cases x 2 DAX runner paths, {len(problems)} problems", file=sys.stderr)
    return 1 if problems else 0


if __name__ == "__main__":
    sys.exit(main())
