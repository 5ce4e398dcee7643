#!/usr/bin/env python3
"""Scripted DAX responder for recording golden frames (NOT a DAX implementation, NOT AWS).

Listens on 127.0.0.1 only (port 0 = any free port) and speaks just enough of the DAX wire
protocol (docs/dax-protocol.md) for the official clients to get to their data requests:

  * reads the 5-item connection preamble, then requests `1, methodId, <arity> args`
    (arity table below), splitting the byte stream into frames by parsing CBOR items;
  * never answers authorizeConnection (verifies its SigV4 signature if the secret is known);
  * endpoints -> one leader node = this listener; defineKeySchema from a fixed table registry;
    defineAttributeListId / defineAttributeList from an in-memory registry (client lists get
    ids 100, 101, ... in order of first use; the responder's own canned item lists 1000+);
  * data methods -> canned replies shaped after the request (projection maps when a
    projection was sent, ReturnValues, consumed capacity, item-collection metrics,
    LastEvaluatedKey when Limit is set, ...), or a scripted error.

Every frame is appended to a JSON-lines log (--log): preamble/request frames as received
(direction c2s) and reply frames as sent (s2c), each with connection id, sequence number,
method name and the current label set over the control channel.

Control channel (second listener, JSON lines over TCP, one request -> one reply line):
  {"cmd": "begin", "label": "...", "script": {...}}   set the label (and per-call reply script)
  {"cmd": "end"}                                      -> {"ok": true, "frames": n} for that label
  {"cmd": "ping"} | {"cmd": "shutdown"}
Script keys: "error": one of ERRORS (applies to data requests), "unprocessed": true,
"missing": true (GetItem/TransactGet return nothing), "lek": true (always LastEvaluatedKey).

Usage: responder.py --ports-file F --log L [--port N] [--secret AKID=SECRET ...] [--selftest]
The ports file gets {"data_port": n, "control_port": m, "pid": p} once both listen.
stdlib only (python3 >= 3.9).
"""
from __future__ import annotations

import argparse
import asyncio
import hashlib
import hmac
import json
import os
import sys
import time

sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import daxcbor as C  # noqa: E402
from daxcbor import Indef, Pairs, Tag, encode, seq  # noqa: E402

HOST = "127.0.0.1"

METHODS = {
    1489122155: ("authorizeConnection", 5),
    455855874: ("endpoints", 0),
    -742646399: ("defineKeySchema", 1),
    -1230579644: ("defineAttributeListId", 1),
    670678385: ("defineAttributeList", 1),
    263244906: ("getItem", 3),
    -2106490455: ("putItem", 4),
    1013539361: ("deleteItem", 3),
    1425579023: ("updateItem", 3),
    -931250863: ("query", 3),
    -1875390620: ("scan", 2),
    -697851100: ("batchGetItem", 2),
    116217951: ("batchWriteItem", 2),
    1866287579: ("transactGetItems", 4),
    -1160037738: ("transactWriteItems", 9),
}

# --------------------------------------------------------------------------- tables

TYPES = {"S": "S", "N": "N", "B": "B"}


def _layout_tables():
    t = {}
    for h in "SNB":
        t[f"t_h{h}"] = [("pk", h)]
        for r in "SNB":
            t[f"t_h{h}_r{r}"] = [("pk", h), ("sk", r)]
    # the two tables of the examples in docs/dax-protocol.md (§5.5, §9.4)
    t["hashonly"] = [("pk", "S")]
    t["composite"] = [("pk", "S"), ("sk", "N")]
    return t


TABLES = _layout_tables()

# canned key values per type (item 1, item 2)
CANNED_KEYS = {
    "S": ({"S": "k1"}, {"S": "k2"}),
    "N": ({"N": "1"}, {"N": "-2.25"}),
    "B": ({"B": b"\x01"}, {"B": b"\x02\x00"}),
}
CANNED_RANGE = {
    "S": ({"S": "r1"}, {"S": "r2"}),
    "N": ({"N": "1.5"}, {"N": "100"}),
    "B": ({"B": b"\x0a"}, {"B": b"\x0b\xff"}),
}

# the canned non-key item every read returns: all 10 AttributeValue types
RICH_NAMES = ["bin", "bool", "bs", "list", "map", "ns", "nul", "num", "ss", "str"]
RICH_VALUES = [
    b"\x00\xff",
    True,
    Tag(3323, [b"\x01", b""]),
    ["x", 1],
    {"k": "v", "n": Tag(4, [-1, 15])},
    Tag(3322, [1, Tag(4, [-1, 25])]),
    None,
    Tag(4, [-2, -1250]),
    Tag(3321, ["a", "b"]),
    "h\u00e9llo",
]

ERRORS = {
    # name: (codes, message, errorCode, status)
    "ConditionalCheckFailed": ([4, 37, 38, 39, 43], "The conditional request failed",
                               "ConditionalCheckFailedException", 400),
    "ResourceNotFound": ([4, 37, 38, 39, 41], "Requested resource not found",
                         "ResourceNotFoundException", 400),
    "Validation": ([4, 37, 38, 39, 46], "One or more parameter values were invalid",
                   "ValidationException", 400),
    "TransactionCanceled": ([4, 37, 38, 39, 58],
                            "Transaction cancelled, please refer cancellation reasons for specific reasons "
                            "[ConditionalCheckFailed, None]", "TransactionCanceledException", 400),
    "AuthenticationRequired": ([4, 23, 31, 33], "Connection requires authentication",
                               "AuthenticationRequiredException", 400),
}

# --------------------------------------------------------------------------- helpers


def error_reply(name: str, req_id: str, n_tx_items: int = 0, ccf_item: bytes | None = None) -> bytes:
    """codes, message, details [requestId, errorCode, status (, cancellation reasons)] (docs/dax-protocol.md §7).
    TransactionCanceled: the LAST transaction item failed its condition (with ccf_item as the
    ALL_OLD item bytes, if given), every other item has reason "None"."""
    codes, msg, code, status = ERRORS[name]
    details = [req_id, code, status]
    if name == "TransactionCanceled":
        n = max(n_tx_items, 1)
        reasons = []
        for i in range(n):
            if i == n - 1:
                reasons += ["ConditionalCheckFailed", "The conditional request failed", ccf_item]
            else:
                reasons += ["None", None, None]
        details.append(reasons)
    return encode(codes) + encode(msg) + encode(details)


def sigv4_string_to_sign_ok(secret: str, sts: bytes, signature: str) -> bool:
    lines = sts.decode().split("\n")
    scope = lines[2].split("/")
    date, region, service = scope[0], scope[1], scope[2]

    def h(k, m):
        return hmac.new(k, m.encode(), hashlib.sha256).digest()

    k = h(h(h(h(("AWS4" + secret).encode(), date), region), service), "aws4_request")
    return hmac.new(k, sts, hashlib.sha256).hexdigest() == signature


def decode_key(schema, kb: bytes) -> dict:
    """Split KEY bytes into {name: (type, raw)}; only the hash value is decoded (needed for ICM)."""
    (hn, ht) = schema[0]
    if len(schema) == 1:
        if ht == "N":
            return {hn: C.decode_item(kb)[0]}
        return {hn: kb.decode() if ht == "S" else kb}
    v, end = C.decode_item(kb)
    return {hn: v, schema[1][0]: kb[end:]}


class State:
    def __init__(self, log_path: str, secrets: dict[str, str]):
        self.log = open(log_path, "a", encoding="utf-8")
        self.secrets = secrets
        self.label = None
        self.script: dict = {}
        self.label_frames = 0
        self.conn_seq = 0
        self.attr_lists: dict[tuple, int] = {(): 1}
        self.attr_by_id: dict[int, list] = {1: []}
        self.next_client_id = 100
        self.next_own_id = 1000
        self.req_counter = 0
        self.data_port = 0
        self.writers = set()
        self.stop = asyncio.Event()

    def emit(self, ev: dict):
        ev["label"] = self.label
        self.log.write(json.dumps(ev, sort_keys=True) + "\n")
        self.log.flush()
        if self.label is not None:
            self.label_frames += 1

    # attribute lists -------------------------------------------------------
    def client_list_id(self, names: list) -> int:
        key = tuple(names)
        if key not in self.attr_lists:
            self.attr_lists[key] = self.next_client_id
            self.attr_by_id[self.next_client_id] = list(names)
            self.next_client_id += 1
        return self.attr_lists[key]

    def own_list_id(self, names: list) -> int:
        key = tuple(names)
        if key not in self.attr_lists:
            self.attr_lists[key] = self.next_own_id
            self.attr_by_id[self.next_own_id] = list(names)
            self.next_own_id += 1
        return self.attr_lists[key]

    # canned pieces ---------------------------------------------------------
    def rich_item(self) -> bytes:
        return seq(self.own_list_id(RICH_NAMES), *RICH_VALUES)

    def req_id(self) -> str:
        self.req_counter += 1
        return f"REQID-{self.req_counter}"


def schema_of(table) -> list:
    name = table.decode() if isinstance(table, bytes) else table
    return TABLES.get(name)


def cc_bytes(table: str, rcc: int, write: bool) -> bytes:
    units = 1.0 if write else 0.5
    if rcc == 2:  # INDEXES
        return seq(table, units, units, {"gsi1": 1.5}, None)
    return seq(table, units, None, None, None)


def cc_map(table: str, rcc: int, write: bool) -> dict:
    units = 1.0 if write else 0.5
    m = {4: table, 1: units}
    m[3 if write else 2] = units
    if rcc == 2:
        m[5] = {1: units}
        m[6] = {"gsi1": {1: 1.5}}
    return m


def icm_bytes(schema, kb: bytes) -> bytes:
    hv = decode_key(schema, kb)[schema[0][0]]
    return seq(hv, 0.0, 1.0)


def canned_key(schema, i: int) -> bytes:
    key = {schema[0][0]: CANNED_KEYS[schema[0][1]][i]}
    if len(schema) == 2:
        key[schema[1][0]] = CANNED_RANGE[schema[1][1]][i]
    return C.key_bytes(schema, key)


def canned_compound(schema, i: int) -> bytes:
    pairs = Pairs()
    pairs.append((schema[0][0], C.av_cbor(CANNED_KEYS[schema[0][1]][i])))
    if len(schema) == 2:
        pairs.append((schema[1][0], C.av_cbor(CANNED_RANGE[schema[1][1]][i])))
    pairs.append(("gsi_pk", "g1"))
    return encode(Indef(pairs))


def projection_map(proj: bytes) -> dict:
    """Projection reply item: {ordinal: value} for every projected path (canned text values)."""
    expr = C.decode_item(proj)[0]
    paths = expr[1]
    return {i: f"p{i}" for i in range(len(paths))}


# --------------------------------------------------------------------------- replies


def reply_for(st: State, method: str, args: list) -> bytes | None:
    script = st.script
    if method == "authorizeConnection":
        return None
    if method == "endpoints":
        node = {0: 1, 1: "localhost", 2: bytes([127, 0, 0, 1]), 3: st.data_port, 4: 1,
                5: "us-east-1a", 6: 12345}
        return b"\x80" + encode([node])
    if method == "defineKeySchema":
        schema = schema_of(args[0])
        if schema is None:
            return error_reply("ResourceNotFound", st.req_id())
        return b"\x80" + encode({n: t for n, t in schema})
    if method == "defineAttributeListId":
        return b"\x80" + encode(st.client_list_id(args[0]))
    if method == "defineAttributeList":
        names = st.attr_by_id.get(args[0])
        if names is None:
            return error_reply("Validation", st.req_id())
        return b"\x80" + encode(names)

    # ---- data methods
    if script.get("error"):
        n_tx = len(args[0]) if method in ("transactWriteItems", "transactGetItems") else 0
        ccf_item = None
        if method == "transactWriteItems" and args[5] and args[5][-1] == 2:
            ccf_item = st.rich_item()  # ReturnValuesOnConditionCheckFailure=ALL_OLD on the failing item
        return error_reply(script["error"], st.req_id(), n_tx, ccf_item)
    kw = args[-1] if isinstance(args[-1], dict) else {}
    rcc = kw.get(3, 0)

    if method == "getItem":
        table = args[0].decode()
        out = {}
        if not script.get("missing"):
            out[0] = projection_map(kw[0]) if 0 in kw else st.rich_item()
        if rcc:
            out[1] = cc_bytes(table, rcc, False)
        return b"\x80" + (encode(out) if out else encode(None))

    if method in ("putItem", "updateItem", "deleteItem"):
        table = args[0].decode()
        schema = schema_of(args[0])
        rv = kw.get(7, 1)
        out = {}
        if rv in (2, 4):
            out[2] = st.rich_item()
        elif rv in (3, 5):
            lid = st.own_list_id(RICH_NAMES)
            out[2] = seq(lid, {9: "new", 7: Tag(4, [0, 2])})
        if rcc:
            out[1] = cc_bytes(table, rcc, True)
        if kw.get(6) == 1:
            out[3] = icm_bytes(schema, args[1])
        return b"\x80" + (encode(out) if out else encode(None))

    if method in ("query", "scan"):
        table = args[0].decode()
        schema = schema_of(args[0])
        select = kw.get(15)
        items = []
        if 0 in kw:
            items = [projection_map(kw[0]), projection_map(kw[0])]
        else:
            items = [[canned_key(schema, i), st.rich_item()] for i in range(2)]
        pairs = Pairs()
        if select != 3:
            pairs.append((7, Indef(items) if method == "query" else items))
        pairs.append((8, 2))
        pairs.append((10, 2))
        if 13 in kw or script.get("lek"):
            pairs.append((9, canned_compound(schema, 1) if 11 in kw else canned_key(schema, 1)))
        if rcc:
            pairs.append((1, cc_bytes(table, rcc, False)))
        return b"\x80" + (encode(Indef(pairs)) if method == "query" else encode(pairs))

    if method == "batchGetItem":
        results, unprocessed, ccs = {}, {}, []
        for tname, (cr, proj, keys) in args[0].items():
            keys = list(keys)
            if script.get("unprocessed") and keys:
                unprocessed[tname] = [keys.pop()]
            if proj is not None:
                results[tname] = [projection_map(proj) for _ in keys]
            else:
                flat = []
                for k in keys:
                    flat += [k, st.rich_item()]
                results[tname] = flat
            if rcc:
                ccs.append(cc_bytes(tname, rcc, False))
        return b"\x80" + b"\x82" + encode(results) + encode(unprocessed) + encode(ccs)

    if method == "batchWriteItem":
        unprocessed, ccs, icms = {}, [], {}
        for tname, flat in args[0].items():
            schema = schema_of(tname)
            if script.get("unprocessed") and flat:
                unprocessed[tname] = flat[:2]
            if rcc:
                ccs.append(cc_bytes(tname, rcc, True))
            if kw.get(6) == 1:
                icms[tname] = [icm_bytes(schema, flat[i]) for i in range(0, len(flat), 2)]
        return b"\x80" + encode(unprocessed) + encode(ccs) + encode(icms)

    if method == "transactGetItems":
        tables, keys, projs = args[0], args[1], args[2]
        items = []
        for i in range(len(tables)):
            if script.get("missing"):
                items.append(None)
            elif projs is not None and projs[i] is not None:
                items.append(projection_map(projs[i]))
            else:
                items.append(st.rich_item())
        ccs = [cc_map(t.decode(), rcc, False) for t in dict.fromkeys(tables)] if rcc else []
        return b"\x80" + encode([items, ccs])

    if method == "transactWriteItems":
        tables, keys = args[1], args[2]
        ccs = [cc_map(t.decode(), rcc, True) for t in dict.fromkeys(tables)] if rcc else []
        icms = {}
        if kw.get(6) == 1:
            for op, t, k in zip(args[0], tables, keys):
                if op != 12:  # no metrics for ConditionCheck items
                    icms.setdefault(t.decode(), []).append(icm_bytes(schema_of(t), k))
        return b"\x80" + encode([[], ccs, icms])

    return error_reply("Validation", st.req_id())


# --------------------------------------------------------------------------- connections


async def handle_data(st: State, reader: asyncio.StreamReader, writer: asyncio.StreamWriter):
    st.conn_seq += 1
    conn = st.conn_seq
    st.writers.add(writer)
    peer = writer.get_extra_info("peername")
    st.emit({"ev": "open", "conn": conn, "peer_port": peer[1] if peer else None, "t": time.time()})
    buf = bytearray()
    off = 0
    preamble_done = False
    n = 0
    try:
        while True:
            data = await reader.read(65536)
            if not data:
                break
            buf += data
            while True:
                try:
                    if not preamble_done:
                        o = off
                        for _ in range(5):
                            o = C.item_end(buf, o)
                        frame = bytes(buf[off:o])
                        items = C.decode_all(frame)
                        n += 1
                        st.emit({"ev": "frame", "dir": "c2s", "conn": conn, "seq": n, "method": "preamble",
                                 "hex": frame.hex(), "magic_ok": items[0] == "J7yne5G"})
                        off = o
                        preamble_done = True
                        continue
                    if off >= len(buf):
                        break
                    o = off
                    service, o = C.decode_item(buf, o)
                    mid, o = C.decode_item(buf, o)
                    if service != 1 or mid not in METHODS:
                        st.emit({"ev": "bad", "conn": conn, "hex": bytes(buf[off:]).hex()})
                        writer.close()
                        return
                    name, arity = METHODS[mid]
                    args = []
                    for _ in range(arity):
                        a, o = C.decode_item(buf, o)
                        args.append(a)
                except C.NeedMore:
                    break
                frame = bytes(buf[off:o])
                off = o
                n += 1
                ev = {"ev": "frame", "dir": "c2s", "conn": conn, "seq": n, "method": name, "hex": frame.hex()}
                if name == "authorizeConnection":
                    secret = st.secrets.get(args[0])
                    if secret is not None:
                        ev["sig_ok"] = sigv4_string_to_sign_ok(secret, args[2], args[1])
                st.emit(ev)
                try:
                    rep = reply_for(st, name, args)
                except Exception as e:  # a reply bug must not look like a client bug
                    st.emit({"ev": "responder_error", "conn": conn, "seq": n, "error": repr(e)})
                    rep = error_reply("Validation", st.req_id())
                if rep is not None:
                    writer.write(rep)
                    await writer.drain()
                    st.emit({"ev": "frame", "dir": "s2c", "conn": conn, "seq": n, "method": name,
                             "hex": rep.hex(), "script": st.script or None})
            if off > 1 << 20:
                del buf[:off]
                off = 0
    except (ConnectionResetError, BrokenPipeError):
        pass
    finally:
        st.emit({"ev": "close", "conn": conn, "t": time.time()})
        st.writers.discard(writer)
        writer.close()


async def handle_control(st: State, reader, writer):
    while True:
        line = await reader.readline()
        if not line:
            break
        req = json.loads(line)
        cmd = req.get("cmd")
        resp = {"ok": True}
        if cmd == "begin":
            st.label = req["label"]
            st.script = req.get("script") or {}
            st.label_frames = 0
            st.req_counter = 0  # request ids in error replies: REQID-1, -2, ... per call
            st.emit({"ev": "begin", "script": st.script or None})
        elif cmd == "end":
            resp["frames"] = st.label_frames
            st.emit({"ev": "end"})
            st.label = None
            st.script = {}
        elif cmd == "ping":
            pass
        elif cmd == "shutdown":
            writer.write((json.dumps(resp) + "\n").encode())
            await writer.drain()
            st.stop.set()
            break
        else:
            resp = {"ok": False, "error": f"unknown cmd {cmd!r}"}
        writer.write((json.dumps(resp) + "\n").encode())
        await writer.drain()
    writer.close()


async def serve(args):
    secrets = dict(s.split("=", 1) for s in args.secret)
    st = State(args.log, secrets)
    try:
        data = await asyncio.start_server(lambda r, w: handle_data(st, r, w), HOST, args.port)
    except OSError as e:
        if args.port == 0:
            raise
        print(f"responder: port {args.port} unavailable ({e}); using an ephemeral port", file=sys.stderr)
        data = await asyncio.start_server(lambda r, w: handle_data(st, r, w), HOST, 0)
    ctl = await asyncio.start_server(lambda r, w: handle_control(st, r, w), HOST, 0)
    st.data_port = data.sockets[0].getsockname()[1]
    info = {"data_port": st.data_port, "control_port": ctl.sockets[0].getsockname()[1], "pid": os.getpid()}
    tmp = args.ports_file + ".tmp"
    with open(tmp, "w") as f:
        json.dump(info, f)
    os.replace(tmp, args.ports_file)
    print(json.dumps(info), flush=True)
    try:
        await asyncio.wait_for(st.stop.wait(), timeout=args.max_seconds)
    except asyncio.TimeoutError:
        print("responder: --max-seconds reached, stopping", file=sys.stderr)
    data.close()
    ctl.close()
    for w in list(st.writers):
        w.close()
    st.log.close()


# --------------------------------------------------------------------------- self test


def selftest() -> int:
    """Our reply encoder against the reply bytes printed in docs/dax-protocol.md (the § in each
    check name is the section of that file that prints the bytes).

    NB: those bytes are replies of a local responder that the official clients accepted
    (docs/dax-protocol.md §9.1); none were captured from a real AWS DAX server.
    """
    st = State(os.devnull, {})
    st.data_port = 18111
    checks = []

    def chk(name, got: bytes, want_hex: str):
        want = bytes.fromhex(want_hex.replace(" ", ""))
        checks.append((name, got == want, got.hex(), want.hex()))

    chk("endpoints §3.1", reply_for(st, "endpoints", []),
        "80 81 a7 0001 01 69 6c6f63616c686f7374 02 44 7f000001 03 19 46bf 04 01 05 6a 75732d656173742d3161 06 19 3039")
    chk("defineKeySchema hashonly §9.4", reply_for(st, "defineKeySchema", [b"hashonly"]), "80 a1 62706b 6153")
    chk("defineKeySchema composite §9.4", reply_for(st, "defineKeySchema", [b"composite"]),
        "80 a2 62706b 6153 62736b 614e")
    chk("defineAttributeListId §9.4", reply_for(st, "defineAttributeListId", [["a", "b", "z"]]), "80 18 64")
    chk("defineAttributeList §9.4", reply_for(st, "defineAttributeList", [100]), "80 83 6161 6162 617a")
    codes, msg, code, status = ERRORS["ConditionalCheckFailed"]
    st.req_counter = 0
    chk("ConditionalCheckFailed §7.1", error_reply("ConditionalCheckFailed", "REQID-1"),
        "85 04 1825 1826 1827 182b 78 1e" + "The conditional request failed".encode().hex()
        + "83 67" + b"REQID-1".hex() + "78 1f" + b"ConditionalCheckFailedException".hex() + "19 0190")
    chk("TransactionCanceled §7.4", error_reply("TransactionCanceled", "REQID-2", 2, None),
        "85 04 1825 1826 1827 183a 78 6c" + ERRORS["TransactionCanceled"][1].encode().hex()
        + "84 67" + b"REQID-2".hex() + "78 1c" + b"TransactionCanceledException".hex() + "19 0190"
        + "86 64" + b"None".hex() + "f6 f6 76" + b"ConditionalCheckFailed".hex() + "78 1e"
        + b"The conditional request failed".hex() + "f6")
    # docs/dax-protocol.md §5.5 PutItem VALUES and §9.4 item / CC / ICM fragments, through the
    # generic encoder
    chk("VALUES §5.5", encode(seq(100, "x", Tag(4, [-2, 150]), Tag(3321, ["q", "r"]))),
        "51 1864 6178 c482211896 d90cf9 82 6171 6172")
    chk("CC INDEXES §9.4", encode(seq("composite", 0.5, 0.5, {"gsi1": 1.5}, None)),
        "58 2c 69 636f6d706f73697465 fb3fe0000000000000 fb3fe0000000000000 a1 6467736931 fb3ff8000000000000 f6")
    chk("ICM §9.4", encode(seq("k1", 0.0, 1.0)), "55 626b31 fb0000000000000000 fb3ff0000000000000")
    chk("compound LEK §9.4", encode(encode(Indef(Pairs([("pk", "h"), ("sk", 7), ("gpk", "g")])))),
        "51 bf 62706b 6168 62736b 07 63 67706b 6167 ff")
    chk("UPDATED_NEW §9.4", b"\x80" + encode({2: seq(100, {0: "new"})}), "80 a1 02 48 1864 a1 00 636e6577")
    # docs/dax-protocol.md §5.4 key examples through our key encoder
    for schema, key, want in [
        ([("pk", "S")], {"pk": {"S": "k1"}}, "42 6b31"),
        ([("pk", "N")], {"pk": {"N": "42"}}, "42 182a"),
        ([("pk", "N")], {"pk": {"N": "1.5"}}, "44 c482200f"),
        ([("pk", "S"), ("sk", "N")], {"pk": {"S": "h"}, "sk": {"N": "3.14"}}, "46 6168 c1518020"),
        ([("pk", "B"), ("sk", "S")], {"pk": {"B": b"\x00\x01"}, "sk": {"S": "x"}}, "44 420001 78"),
        ([("pk", "N"), ("sk", "N")], {"pk": {"N": "-7"}, "sk": {"N": "0"}}, "42 26 80"),
    ]:
        chk(f"key §5.4 {key}", encode(C.key_bytes(schema, key)), want)
    bad = 0
    for name, ok, got, want in checks:
        print(("ok   " if ok else "FAIL ") + name + ("" if ok else f"\n  got  {got}\n  want {want}"))
        bad += not ok
    print(f"{len(checks) - bad} passed, {bad} failed")
    return 1 if bad else 0


def main():
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--ports-file")
    ap.add_argument("--log")
    ap.add_argument("--port", type=int, default=0,
                    help="data port (default 0 = any free port; if the given port is taken, falls back to 0)")
    ap.add_argument("--secret", action="append", default=[], help="AKID=SECRET to verify auth signatures")
    ap.add_argument("--max-seconds", type=float, default=1800.0, help="stop by itself after this long")
    ap.add_argument("--selftest", action="store_true")
    args = ap.parse_args()
    if args.selftest:
        sys.exit(selftest())
    if not args.ports_file or not args.log:
        ap.error("--ports-file and --log are required")
    asyncio.run(serve(args))


if __name__ == "__main__":
    main()
