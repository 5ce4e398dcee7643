"""GetItem load with the official Python DAX client (amazon-dax-client), synchronous: the
Python side of scripts/bench/dax-clients.sh. N in flight = N threads sharing one client, each
calling get_item in a loop. CPU = resource.getrusage(RUSAGE_SELF) user + system (all threads of
the process) over the measured window. Prints one JSON object.

usage: .tools/dax/venv/bin/python getitem_load.py --endpoint dax://H:P [--region R] [--table T]
         [--pk P] [--sk N] [--in-flight N] [--seconds S] [--warmup-seconds S] [--count N]
"""
import argparse
import json
import math
import os
import resource
import threading
import time

from amazondax import AmazonDaxClient


def cpu_seconds():
    r = resource.getrusage(resource.RUSAGE_SELF)
    return r.ru_utime, r.ru_stime


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--endpoint", required=True)
    ap.add_argument("--region", default="us-east-1")
    ap.add_argument("--table", default="orders")
    ap.add_argument("--pk", default="bench#dax-clients")
    ap.add_argument("--sk", default="1")
    ap.add_argument("--in-flight", type=int, default=1)
    ap.add_argument("--seconds", type=float, default=10.0)
    ap.add_argument("--warmup-seconds", type=float, default=2.0)
    ap.add_argument("--count", type=int, default=None)
    a = ap.parse_args()
    os.environ.setdefault("AWS_ACCESS_KEY_ID", "AKIDBENCH")
    os.environ.setdefault("AWS_SECRET_ACCESS_KEY", "secret")
    dax = AmazonDaxClient(endpoints=[a.endpoint], region_name=a.region)
    key = {"pk": {"S": a.pk}, "sk": {"N": a.sk}}
    first = dax.get_item(TableName=a.table, Key=key)
    attributes = len(first.get("Item", {}))
    state = {"measuring": False, "stop": False, "counted": 0, "errors": 0}
    lock = threading.Lock()
    limit = a.count if a.count is not None else math.inf
    lats = []

    def loop():
        mine = []
        while not state["stop"]:
            t = time.perf_counter_ns()
            try:
                ok = "Item" in dax.get_item(TableName=a.table, Key=key)
            except Exception:  # counted as an error
                ok = False
            ns = time.perf_counter_ns() - t
            if not state["measuring"]:
                continue
            with lock:
                if ok:
                    mine.append(ns)
                else:
                    state["errors"] += 1
                state["counted"] += 1
                if state["counted"] >= limit:
                    state["stop"] = True
        with lock:
            lats.extend(mine)

    threads = [threading.Thread(target=loop, daemon=True) for _ in range(a.in_flight)]
    for t in threads:
        t.start()
    time.sleep(a.warmup_seconds)
    t0, cpu0 = time.perf_counter(), cpu_seconds()
    state["measuring"] = True
    deadline = t0 + a.seconds
    while not state["stop"] and time.perf_counter() < deadline:
        time.sleep(0.005)
    state["stop"] = True
    state["measuring"] = False
    cpu1 = cpu_seconds()
    wall = time.perf_counter() - t0
    user, sys_ = cpu1[0] - cpu0[0], cpu1[1] - cpu0[1]
    cpu = user + sys_
    for t in threads:
        t.join()
    lats.sort()

    def pct(p):
        if not lats:
            return 0.0
        return lats[min(len(lats), max(1, math.ceil(len(lats) * p))) - 1] / 1000.0

    n = len(lats)
    print(json.dumps({
        "client": "python-dax", "in_flight": a.in_flight, "attributes": attributes,
        "requests": n, "errors": state["errors"], "wall_s": wall, "cpu_s": cpu, "cpu_user_s": user, "cpu_sys_s": sys_,
        "req_per_s": n / wall, "req_per_cpu_s": n / cpu if cpu > 0 else 0.0,
        "p50_us": pct(0.5), "p99_us": pct(0.99), "p999_us": pct(0.999),
    }))
    try:
        dax.close()
    except Exception:
        pass


main()
