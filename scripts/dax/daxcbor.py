"""Small stdlib-only CBOR reader/writer plus the DAX value encodings the responder needs.

Our own code, written from docs/dax-protocol.md, not from the clients.
Used by responder.py and build_fixtures.py; python3 >= 3.9, no third-party packages.

CLI:  python3 daxcbor.py FILE.cbor [...]   -> prints each top-level item in diagnostic notation.
"""
from __future__ import annotations

import struct
import sys
from decimal import Decimal

# --------------------------------------------------------------------------- model


class Tag:
    __slots__ = ("tag", "value")

    def __init__(self, tag: int, value):
        self.tag = tag
        self.value = value

    def __eq__(self, other):
        return isinstance(other, Tag) and other.tag == self.tag and other.value == self.value

    def __hash__(self):
        return hash(("tag", self.tag))

    def __repr__(self):
        return f"Tag({self.tag}, {self.value!r})"


class Indef:
    """Wrapper asking the encoder for an indefinite-length array (list) or map (dict / list of pairs)."""

    __slots__ = ("value",)

    def __init__(self, value):
        self.value = value


class Raw:
    """Pre-encoded CBOR bytes, written verbatim."""

    __slots__ = ("data",)

    def __init__(self, data: bytes):
        self.data = bytes(data)


class F16(float):
    pass


class F32(float):
    pass


class Pairs(list):
    """A map given as a list of (key, value) pairs: keeps order and allows duplicate keys."""


class NeedMore(Exception):
    """The buffer ends inside a CBOR item."""


class CborError(ValueError):
    pass


BREAK = object()
UNDEFINED = type("Undefined", (), {"__repr__": lambda s: "undefined"})()

# --------------------------------------------------------------------------- reader


def _arg(buf: bytes, off: int):
    """Returns (major, info, argument or None for indefinite, new offset)."""
    if off >= len(buf):
        raise NeedMore
    ib = buf[off]
    major, info = ib >> 5, ib & 0x1F
    off += 1
    if info < 24:
        return major, info, info, off
    if info in (24, 25, 26, 27):
        n = 1 << (info - 24)
        if off + n > len(buf):
            raise NeedMore
        return major, info, int.from_bytes(buf[off:off + n], "big"), off + n
    if info == 31:
        return major, info, None, off
    raise CborError(f"reserved additional info {info} at offset {off - 1}")


def decode_item(buf: bytes, off: int = 0, *, pairs: bool = False):
    """Decodes one item at `off`. Returns (value, end offset). Raises NeedMore if truncated.

    Maps become dict (last duplicate wins) or, with pairs=True, Pairs lists (order and
    duplicates preserved, recursively).
    """
    major, info, arg, off = _arg(buf, off)
    if major == 0:
        return arg, off
    if major == 1:
        return -1 - arg, off
    if major in (2, 3):
        if arg is None:  # indefinite string: chunks until break
            chunks = []
            while True:
                if off >= len(buf):
                    raise NeedMore
                if buf[off] == 0xFF:
                    off += 1
                    break
                chunk, off = decode_item(buf, off, pairs=pairs)
                chunks.append(chunk)
            data = b"".join(c if isinstance(c, bytes) else c.encode() for c in chunks)
        else:
            if off + arg > len(buf):
                raise NeedMore
            data = bytes(buf[off:off + arg])
            off += arg
        return (data if major == 2 else data.decode("utf-8")), off
    if major == 4:
        out = []
        if arg is None:
            while True:
                if off >= len(buf):
                    raise NeedMore
                if buf[off] == 0xFF:
                    return out, off + 1
                v, off = decode_item(buf, off, pairs=pairs)
                out.append(v)
        for _ in range(arg):
            v, off = decode_item(buf, off, pairs=pairs)
            out.append(v)
        return out, off
    if major == 5:
        items = []
        count = arg
        while True:
            if count is None:
                if off >= len(buf):
                    raise NeedMore
                if buf[off] == 0xFF:
                    off += 1
                    break
            elif len(items) == count:
                break
            k, off = decode_item(buf, off, pairs=pairs)
            v, off = decode_item(buf, off, pairs=pairs)
            items.append((_hashable(k), v))
        return (Pairs(items) if pairs else dict(items)), off
    if major == 6:
        v, off = decode_item(buf, off, pairs=pairs)
        return Tag(arg, v), off
    # major 7
    if info == 20:
        return False, off
    if info == 21:
        return True, off
    if info == 22:
        return None, off
    if info == 23:
        return UNDEFINED, off
    if info == 25:
        return F16(struct.unpack(">e", arg.to_bytes(2, "big"))[0]), off
    if info == 26:
        return F32(struct.unpack(">f", arg.to_bytes(4, "big"))[0]), off
    if info == 27:
        return struct.unpack(">d", arg.to_bytes(8, "big"))[0], off
    if info == 31:
        raise CborError("unexpected break")
    return Tag(-1, arg), off  # simple value


def _hashable(k):
    if isinstance(k, list):
        return tuple(_hashable(x) for x in k)
    if isinstance(k, (dict, Pairs)):
        return tuple(sorted((repr(a), repr(b)) for a, b in (k.items() if isinstance(k, dict) else k)))
    return k


def item_end(buf: bytes, off: int = 0) -> int:
    """Offset just past the item starting at `off` (raises NeedMore if incomplete)."""
    return decode_item(buf, off)[1]


def decode_all(buf: bytes, *, pairs: bool = False) -> list:
    """All top-level items of a CBOR sequence."""
    out, off = [], 0
    while off < len(buf):
        v, off = decode_item(buf, off, pairs=pairs)
        out.append(v)
    return out


def split_items(buf: bytes) -> list[bytes]:
    """Raw bytes of each top-level item of a CBOR sequence."""
    out, off = [], 0
    while off < len(buf):
        end = item_end(buf, off)
        out.append(bytes(buf[off:end]))
        off = end
    return out


# --------------------------------------------------------------------------- writer


def _head(major: int, n: int) -> bytes:
    if n < 24:
        return bytes([(major << 5) | n])
    if n < 0x100:
        return bytes([(major << 5) | 24, n])
    if n < 0x10000:
        return bytes([(major << 5) | 25]) + n.to_bytes(2, "big")
    if n < 0x100000000:
        return bytes([(major << 5) | 26]) + n.to_bytes(4, "big")
    return bytes([(major << 5) | 27]) + n.to_bytes(8, "big")


def encode(obj) -> bytes:
    """Shortest-form CBOR. int (bignums as tags 2/3), bytes, str, list, dict, Pairs, Tag,
    float (float64; F16/F32 for the smaller widths), bool, None, Indef, Raw, Decimal (tag 4)."""
    out = bytearray()
    _enc(obj, out)
    return bytes(out)


def _enc(obj, out: bytearray):
    if obj is None:
        out.append(0xF6)
    elif obj is True:
        out.append(0xF5)
    elif obj is False:
        out.append(0xF4)
    elif isinstance(obj, Raw):
        out += obj.data
    elif isinstance(obj, int):
        if obj >= 0:
            if obj < 1 << 64:
                out += _head(0, obj)
            else:
                mag = obj.to_bytes((obj.bit_length() + 7) // 8, "big")
                out += _head(6, 2) + _head(2, len(mag)) + mag
        else:
            n = -1 - obj
            if n < 1 << 64:
                out += _head(1, n)
            else:
                mag = n.to_bytes((n.bit_length() + 7) // 8, "big")
                out += _head(6, 3) + _head(2, len(mag)) + mag
    elif isinstance(obj, F16):
        out += b"\xf9" + struct.pack(">e", obj)
    elif isinstance(obj, F32):
        out += b"\xfa" + struct.pack(">f", obj)
    elif isinstance(obj, float):
        out += b"\xfb" + struct.pack(">d", obj)
    elif isinstance(obj, Decimal):
        _enc(decimal_number(obj), out)
    elif isinstance(obj, (bytes, bytearray, memoryview)):
        b = bytes(obj)
        out += _head(2, len(b)) + b
    elif isinstance(obj, str):
        b = obj.encode("utf-8")
        out += _head(3, len(b)) + b
    elif isinstance(obj, Tag):
        out += _head(6, obj.tag)
        _enc(obj.value, out)
    elif isinstance(obj, Indef):
        v = obj.value
        if isinstance(v, (dict, Pairs)):
            out.append(0xBF)
            for k, x in (v.items() if isinstance(v, dict) else v):
                _enc(k, out)
                _enc(x, out)
        else:
            out.append(0x9F)
            for x in v:
                _enc(x, out)
        out.append(0xFF)
    elif isinstance(obj, Pairs):
        out += _head(5, len(obj))
        for k, x in obj:
            _enc(k, out)
            _enc(x, out)
    elif isinstance(obj, dict):
        out += _head(5, len(obj))
        for k, x in obj.items():
            _enc(k, out)
            _enc(x, out)
    elif isinstance(obj, (list, tuple)):
        out += _head(4, len(obj))
        for x in obj:
            _enc(x, out)
    else:
        raise TypeError(f"cannot CBOR-encode {type(obj).__name__}")


def seq(*items) -> bytes:
    """A CBOR sequence (concatenated top-level items)."""
    return b"".join(encode(i) for i in items)


# --------------------------------------------------------------------------- diagnostic notation


def diag(buf: bytes, off: int = 0) -> tuple[str, int]:
    """RFC 8949 diagnostic notation of one item, showing indefinite containers with `_`."""
    major, info, arg, off2 = _arg(buf, off)
    if major in (0, 1):
        return str(arg if major == 0 else -1 - arg), off2
    if major in (2, 3):
        if arg is None:
            parts = []
            o = off2
            while buf[o] != 0xFF:
                s, o = diag(buf, o)
                parts.append(s)
            return "(_ " + ", ".join(parts) + ")", o + 1
        data = bytes(buf[off2:off2 + arg])
        if off2 + arg > len(buf):
            raise NeedMore
        if major == 2:
            return "h'" + data.hex() + "'", off2 + arg
        return _json_str(data.decode("utf-8")), off2 + arg
    if major == 4:
        parts, o = [], off2
        if arg is None:
            while buf[o] != 0xFF:
                s, o = diag(buf, o)
                parts.append(s)
            return "[_ " + ", ".join(parts) + "]", o + 1
        for _ in range(arg):
            s, o = diag(buf, o)
            parts.append(s)
        return "[" + ", ".join(parts) + "]", o
    if major == 5:
        parts, o = [], off2
        while (buf[o] != 0xFF) if arg is None else (len(parts) < arg):
            k, o = diag(buf, o)
            v, o = diag(buf, o)
            parts.append(f"{k}: {v}")
        if arg is None:
            return "{_ " + ", ".join(parts) + "}", o + 1
        return "{" + ", ".join(parts) + "}", o
    if major == 6:
        s, o = diag(buf, off2)
        return f"{arg}({s})", o
    v, o = decode_item(buf, off)
    if v is None:
        return "null", o
    if v is True or v is False:
        return str(v).lower(), o
    if v is UNDEFINED:
        return "undefined", o
    suffix = {25: "_1", 26: "_2", 27: "_3"}.get(info, "")
    return repr(float(v)) + suffix, o


def _json_str(s: str) -> str:
    import json

    return json.dumps(s, ensure_ascii=False)


def diag_seq(buf: bytes) -> list[str]:
    out, off = [], 0
    while off < len(buf):
        try:
            s, off = diag(buf, off)
        except IndexError:
            raise NeedMore from None
        out.append(s)
    return out


# --------------------------------------------------------------------------- DAX numbers / values / keys


def number_cbor(n: str):
    """The CBOR value for a DynamoDB N string, Go/Python style (docs/dax-protocol.md §5.3): int or tag-4 decimal."""
    s = n.strip()
    if not any(c in s for c in ".eE"):
        return int(s)
    return decimal_number(Decimal(s))


def decimal_number(d: Decimal):
    sign, digits, exp = d.as_tuple()
    mant = int("".join(map(str, digits)) or "0")
    if sign:
        mant = -mant
    return Tag(4, [exp, mant])


def lexdecimal(n: str) -> bytes:
    """Order-preserving decimal encoding for numeric range keys (docs/dax-protocol.md §5.6), our own implementation."""
    d = Decimal(n)
    if d == 0:
        return b"\x80"
    sign, digits, exp = d.as_tuple()
    # keep trailing zeros as given; strip leading zeros of the coefficient
    ds = "".join(map(str, digits)).lstrip("0")
    precision = len(ds)
    scale = -exp
    e = precision - scale
    out = bytearray()
    if not sign:
        if -62 <= e < 62:
            out.append(0xC0 + e)
        else:
            out.append(0xFE if e >= 0 else 0x81)
            out += (((e & 0xFFFFFFFF) ^ 0x80000000) & 0xFFFFFFFF).to_bytes(4, "big")
    else:
        if -62 <= e < 62:
            out.append(0x3F - e)
        else:
            out.append(0x01 if e >= 0 else 0x7E)
            out += (((e & 0xFFFFFFFF) ^ 0x7FFFFFFF) & 0xFFFFFFFF).to_bytes(4, "big")
    m = precision % 3
    term = {0: 2, 1: 0, 2: 1}[m]
    padded = ds + "0" * ((3 - m) % 3)
    groups = [int(padded[i:i + 3]) for i in range(0, len(padded), 3)]
    if not sign:
        vals = [g + 12 for g in groups] + [term]
    else:
        vals = [999 - g + 12 for g in groups] + [1023 - term]
    bits = 0
    nbits = 0
    for v in vals:
        bits = (bits << 10) | v
        nbits += 10
    pad = (-nbits) % 8
    bits <<= pad
    nbits += pad
    out += bits.to_bytes(nbits // 8, "big")
    return bytes(out)


def av_cbor(av: dict):
    """CBOR value for a DynamoDB AttributeValue in *decoded* form (B/BS values are bytes)."""
    (t, v), = av.items()
    if t == "S":
        return v
    if t == "N":
        return number_cbor(v)
    if t == "B":
        return bytes(v)
    if t == "BOOL":
        return bool(v)
    if t == "NULL":
        return None
    if t == "L":
        return [av_cbor(x) for x in v]
    if t == "M":
        return {k: av_cbor(x) for k, x in sorted(v.items())}
    if t == "SS":
        return Tag(3321, list(v))
    if t == "NS":
        return Tag(3322, [number_cbor(x) for x in v])
    if t == "BS":
        return Tag(3323, [bytes(x) for x in v])
    raise ValueError(f"unknown AttributeValue type {t}")


def key_bytes(schema: list[tuple[str, str]], key: dict) -> bytes:
    """KEY encoding (docs/dax-protocol.md §5.4). schema = [(hash name, type), (range name, type)?]; key values decoded."""
    (hname, htype) = schema[0]
    hval = key[hname][htype]
    if len(schema) == 1:
        if htype == "S":
            return hval.encode("utf-8")
        if htype == "B":
            return bytes(hval)
        return encode(number_cbor(hval))
    head = encode(av_cbor({htype: hval}))
    (rname, rtype) = schema[1]
    rval = key[rname][rtype]
    if rtype == "S":
        return head + rval.encode("utf-8")
    if rtype == "B":
        return head + bytes(rval)
    return head + lexdecimal(rval)


def compound_key_bytes(key: dict) -> bytes:
    """Compound key (index ExclusiveStartKey / LastEvaluatedKey): indefinite map name -> AV."""
    return encode(Indef(Pairs((k, av_cbor(v)) for k, v in key.items())))


if __name__ == "__main__":
    for path in sys.argv[1:]:
        data = open(path, "rb").read()
        print(f"# {path} ({len(data)} bytes)")
        for line in diag_seq(data):
            print(line)
