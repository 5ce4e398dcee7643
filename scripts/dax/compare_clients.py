#!/usr/bin/env python3
"""Compare the Python and Node request fixtures call by call, after the normalisations
listed in README.md ("Normalisations"), and say which normalisation each pair needed.

  python3 scripts/dax/compare_clients.py [--verbose]

Exit status 1 if any pair still differs after normalisation (i.e. the README list is
incomplete). stdlib only; reads crates/dax-protocol/tests/fixtures/manifest.json.

The normalised form is a JSON-able tree: numbers become ("N", decimal string), every map is
order-independent, expressions have their :value references substituted, defaults are
dropped. Each rule that changed something is reported by its README id (N1..N12).
"""
from __future__ import annotations

import json
import os
import sys
from decimal import Decimal

HERE = os.path.dirname(os.path.abspath(__file__))
sys.dont_write_bytecode = True  # no __pycache__ next to the scripts
sys.path.insert(0, HERE)
import daxcbor as C  # noqa: E402
from daxcbor import Pairs, Tag  # noqa: E402
from responder import METHODS, TABLES  # noqa: E402

FIX = os.path.normpath(os.path.join(HERE, "..", "..", "crates", "dax-protocol", "tests", "fixtures"))


class Norm:
    """Collects which rules fired while normalising one frame."""

    def __init__(self):
        self.rules: set[str] = set()

    # ------------------------------------------------------------------ values
    def num(self, v):
        if isinstance(v, bool):
            raise TypeError
        if isinstance(v, float):
            self.rules.add("N6")  # float64 instead of decimal (Node)
            return ("N", str(Decimal(repr(v))))
        if isinstance(v, Tag) and v.tag in (2, 3):
            n = int.from_bytes(v.value, "big")
            n = n if v.tag == 2 else -1 - n
            if -(1 << 64) <= n < (1 << 64):
                self.rules.add("N7")  # bignum for a value that fits 64 bits (Node)
            return ("N", str(n))
        if isinstance(v, Tag) and v.tag == 4:
            exp, mant = v.value
            mant = self.num(mant)[1]
            return ("N", str(Decimal(mant).scaleb(exp)))
        if isinstance(v, int):
            return ("N", str(v))
        raise TypeError(f"not a number: {v!r}")

    def av(self, v):
        if isinstance(v, str):
            return ("S", v)
        if isinstance(v, bytes):
            return ("B", v.hex())
        if v is None:
            return ("NULL",)
        if isinstance(v, bool):
            return ("BOOL", v)
        if isinstance(v, (int, float)) or (isinstance(v, Tag) and v.tag in (2, 3, 4)):
            return self.num(v)
        if isinstance(v, Pairs):
            keys = [k for k, _ in v]
            if keys != sorted(keys):
                self.rules.add("N8")  # M map not in sorted key order (Node: insertion order)
            return ("M", sorted((k, self.av(x)) for k, x in v))
        if isinstance(v, list):
            return ("L", [self.av(x) for x in v])
        if isinstance(v, Tag) and v.tag == 3321:
            return ("SS", list(v.value))
        if isinstance(v, Tag) and v.tag == 3322:
            return ("NS", [self.num(x)[1] for x in v.value])
        if isinstance(v, Tag) and v.tag == 3323:
            return ("BS", [x.hex() for x in v.value])
        raise TypeError(f"not an AttributeValue: {v!r}")

    # ------------------------------------------------------------------ keys / items
    def key(self, table: str, kb: bytes):
        schema = TABLES[table]
        (hn, ht) = schema[0]
        if len(schema) == 1:
            if ht == "S":
                return {hn: ("S", kb.decode())}
            if ht == "B":
                return {hn: ("B", kb.hex())}
            return {hn: self.num(C.decode_item(kb, pairs=True)[0])}
        v, end = C.decode_item(kb, pairs=True)
        (rn, rt) = schema[1]
        rest = kb[end:]
        rv = ("S", rest.decode()) if rt == "S" else (("B", rest.hex()) if rt == "B" else ("LEXDEC", rest.hex()))
        return {hn: self.av(v), rn: rv}

    def compound(self, b: bytes):
        m = C.decode_item(b, pairs=True)[0]
        return sorted((k, self.av(x)) for k, x in m)

    def values(self, b):
        if b is None:
            return None
        items = C.decode_all(b, pairs=True)
        return [items[0]] + [self.av(x) for x in items[1:]]

    # ------------------------------------------------------------------ expressions
    def expr(self, b):
        if b is None:
            return None
        e = C.decode_item(b, pairs=True)[0]
        if len(e) == 2:  # projection [1, [paths]]
            return ["proj", self.tree(e[1], [])]
        vals = [self.av(x) for x in e[2]]
        tree = self.tree(e[1], vals)
        # N9: repeated :placeholders -- count references vs distinct values
        return ["expr", tree]

    def tree(self, t, vals):
        if isinstance(t, Pairs):
            return sorted((repr(k), self.tree(x, vals)) for k, x in t)
        if isinstance(t, list):
            if len(t) == 2 and t[0] == 17 and isinstance(t[1], int):
                return ["value", vals[t[1]]]
            return [self.tree(x, vals) for x in t]
        if isinstance(t, Tag):
            return ["tag", t.tag, self.tree(t.value, vals)]
        if isinstance(t, bytes):
            return ["bytes", t.hex()]
        return t

    # ------------------------------------------------------------------ kwargs
    def kwargs(self, kw, call_params: dict, table: str | None):
        if kw is None:
            return {}
        d = {}
        keys = [k for k, _ in kw]
        if len(keys) != len(set(keys)):
            self.rules.add("N3")  # duplicate key 4 (Python: raw text, then compiled)
        for k, v in kw:
            d[k] = v  # last one wins
        if 1 in d or 5 in d:
            self.rules.add("N2")  # redundant ExpressionAttributeNames/Values (Python)
        d.pop(1, None)
        d.pop(5, None)
        for k, default in ((3, 0), (7, 1), (6, 0)):
            if k in d and d[k] == default:
                self.rules.add("N4")  # explicit default (Python always 3:0; NONE values)
                del d[k]
        if 19 in d and "ClientRequestToken" not in call_params:
            self.rules.add("N11")  # client-generated token
            d[19] = "<generated uuid4>"
        out = {}
        for k, v in d.items():
            if k in (0, 4, 8, 10):
                out[k] = self.expr(v)
            elif k == 9:
                out[k] = self.compound(v) if 11 in d else self.key(table, v)
            elif k == 11:
                out[k] = v.decode()
            else:
                out[k] = v
        return out


def normalise(raw: bytes, call: dict):
    n = Norm()
    items = C.decode_all(raw, pairs=True)
    assert items[0] == 1
    name = METHODS[items[1]][0]
    a = items[2:]
    p = call["params"]
    if name in ("getItem", "deleteItem", "updateItem"):
        t = a[0].decode()
        body = [t, n.key(t, a[1]), n.kwargs(a[2], p, t)]
    elif name == "putItem":
        t = a[0].decode()
        body = [t, n.key(t, a[1]), n.values(a[2]), n.kwargs(a[3], p, t)]
    elif name == "query":
        t = a[0].decode()
        body = [t, n.expr(a[1]), n.kwargs(a[2], p, t)]
    elif name == "scan":
        t = a[0].decode()
        body = [t, n.kwargs(a[1], p, t)]
    elif name == "batchGetItem":
        body = [sorted((t, [cr, n.expr(proj), [n.key(t, k) for k in keys]]) for t, (cr, proj, keys) in a[0]),
                n.kwargs(a[1], p, None)]
    elif name == "batchWriteItem":
        body = [sorted((t, [n.key(t, flat[i]) if i % 2 == 0 else n.values(flat[i]) for i in range(len(flat))])
                       for t, flat in a[0]), n.kwargs(a[1], p, None)]
    elif name == "transactGetItems":
        tables = [t.decode() for t in a[0]]
        body = [tables, [n.key(t, k) for t, k in zip(tables, a[1])],
                None if a[2] is None else [n.expr(x) for x in a[2]], n.kwargs(a[3], p, None)]
    elif name == "transactWriteItems":
        tables = [t.decode() for t in a[1]]
        body = [a[0], tables, [n.key(t, k) for t, k in zip(tables, a[2])],
                None if a[3] is None else [n.values(v) for v in a[3]], a[4], a[5],
                None if a[6] is None else [n.expr(x) for x in a[6]],
                None if a[7] is None else [n.expr(x) for x in a[7]], n.kwargs(a[8], p, None)]
    else:
        raise ValueError(name)
    return [name] + body, n.rules


def value_refs(raw: bytes) -> tuple[int, int]:
    """(number of [17,i] references, length of value arrays) over all expressions in a frame."""
    refs = vals = 0

    def walk(x):
        nonlocal refs
        if isinstance(x, list):
            if len(x) == 2 and x[0] == 17 and isinstance(x[1], int):
                refs += 1
            for y in x:
                walk(y)

    def visit(v):
        nonlocal vals
        if isinstance(v, bytes) and v[:2] == b"\x83\x01":
            try:
                e = C.decode_item(v)[0]
                walk(e[1])
                vals += len(e[2])
            except Exception:  # noqa: BLE001 - not an expression
                pass
        elif isinstance(v, list):
            for y in v:
                visit(y)
        elif isinstance(v, dict):
            for y in v.values():
                visit(y)

    for it in C.decode_all(raw):
        visit(it)
    return refs, vals


def main():
    verbose = "--verbose" in sys.argv
    m = json.load(open(os.path.join(FIX, "manifest.json"), encoding="utf-8"))
    pairs = {}
    calls = {}
    for e in m["fixtures"]:
        if e["direction"] == "request" and "/ctl/" not in e["file"] and e.get("attempt", 1) == 1:
            pairs.setdefault(e["call"]["id"], {})[e["client"]] = e["file"]
            calls[e["call"]["id"]] = e["call"]
    stats = {}
    identical = 0
    bad = 0
    for cid, d in sorted(pairs.items()):
        if set(d) != {"python", "node"}:
            print(f"only {sorted(d)}: {cid}")
            continue
        rp = open(os.path.join(FIX, d["python"]), "rb").read()
        rn = open(os.path.join(FIX, d["node"]), "rb").read()
        if rp == rn:
            identical += 1
            continue
        np_, rules_p = normalise(rp, calls[cid])
        nn, rules_n = normalise(rn, calls[cid])
        rules = {f"{r}:python" for r in rules_p} | {f"{r}:node" for r in rules_n}
        # N9: the value-array numbering differs (Node: new index per occurrence in update expressions)
        if value_refs(rp)[1] != value_refs(rn)[1]:
            rules.add("N9:" + ("node" if value_refs(rn)[1] > value_refs(rp)[1] else "python"))
        # N10: kwargs key order
        def order(raw):
            last = C.decode_all(raw, pairs=True)[-1]
            return [k for k, _ in last] if isinstance(last, Pairs) else []
        op_, on_ = order(rp), order(rn)
        common = [k for k in op_ if k in on_]
        if [k for k in on_ if k in common] != common:
            rules.add("N1:both")
        if np_ != nn:
            bad += 1
            print(f"DIFFERS after normalisation: {cid}")
            print("  python:", json.dumps(np_, default=str)[:800])
            print("  node:  ", json.dumps(nn, default=str)[:800])
            continue
        for r in rules:
            stats.setdefault(r, []).append(cid)
        if verbose:
            print(f"{cid}: {sorted(rules)}")
    print(f"{identical} calls byte-identical, {len(pairs) - identical - bad} equal after normalisation, "
          f"{bad} differ")
    for r, ids in sorted(stats.items(), key=lambda x: (int(x[0].split(':')[0][1:]), x[0])):
        print(f"  {r:10s} {len(ids):4d} calls, e.g. {', '.join(ids[:3])}")
    print(f"{identical + len(pairs) - identical - bad} passed, {bad} failed")
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main())
