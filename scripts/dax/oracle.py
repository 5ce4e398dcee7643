#!/usr/bin/env python3
"""Batch oracle over the OFFICIAL Python DAX client's own encoders, for differential tests.

Run with the venv from setup.sh:  .tools/dax/venv/bin/python scripts/dax/oracle.py
Reads JSON lines on stdin, writes one JSON line per input line on stdout, in order.
Every request may carry "id" (echoed back). Binary values are base64 strings, as in
DynamoDB's JSON (AttributeValue {"B": "AAE="}, {"BS": [...]}); outputs are lowercase hex.

Requests (field "op"):
  {"op": "lexdecimal", "value": "3.14"}                      -> {"hex": "c1518020"}
      amazondax.LexDecimal.encode(DYNAMODB_CONTEXT.create_decimal(value))
      (the order-preserving encoding of numeric range keys, docs/dax-protocol.md §5.6; this is
      what the client's key encoder does, so values outside DynamoDB's range/precision error
      out).
      With "context": "plain" the value is parsed with decimal.Decimal(value) instead (for
      out-of-range vectors such as the Go test's -22234353.464363E-43534545).
  {"op": "number", "value": "1.50"}                          -> {"hex": "c482211896"}
      amazondax.CborEncoder.CborEncoder().append_number(value)   (docs/dax-protocol.md §5.3)
  {"op": "key", "schema": [{"AttributeName": "pk", "AttributeType": "S"}, ...] | "S" | "S,N",
   "key": {"pk": {"S": "k1"}, ...}}                          -> {"hex": "6b31"}
      amazondax.AttributeValueEncoder.encode_key(key, schema)  (the CONTENT of the KEY byte
      string, docs/dax-protocol.md §5.4; the frame wraps it in a CBOR byte-string header).
      Shorthand schema "S,N" means [pk: S, sk: N].
  {"op": "compound_key", "key": {...}}                       -> {"hex": "bf...ff"}
      amazondax.AttributeValueEncoder.encode_compound_key(key)  (index ExclusiveStartKey)
  {"op": "av", "value": {"M": {...}}}                        -> {"hex": ...}
      amazondax.AttributeValueEncoder.encode_attribute_value(av)
  {"op": "values", "item": {...}, "schema": ..., "attr_list_id": 100}
                                                             -> {"hex": ..., "attribute_names": [...]}
      amazondax.AttributeValueEncoder.encode_values(item, schema, None, attr_list_id)
      (VALUES content, docs/dax-protocol.md §5.5; attribute_names = the sorted non-key names)
  {"op": "expr", "condition": str?, "key_condition": str?, "filter": str?, "update": str?,
   "projection": str?, "names": {"#n": "x"}?, "values": {":v": AV}?}
      -> {"condition": hex|null, "key_condition": ..., "filter": ..., "update": ..., "projection": ...}
      amazondax.AttributeValueEncoder._check_valid_expression_parameter_names(names, values)
      then amazondax.CborSExprGenerator.encode_expressions(condition, key_condition, filter,
      update, projection, names, values) -- the same pair of calls the client makes per
      request, so "every name/value must be used by some expression of the request" applies
      across all expressions given in one line. Each hex is the CONTENT of the expression
      byte string ([1, tree, [values]] / [1, [paths]]).
  {"op": "decode_number", "hex": "c48201187d"}                -> {"value": "1.25E+3"}
      str(amazondax.CborDecoder.CborDecoder(...).decode_number()) (how the client spells a
      number it decoded: str(int) or str(Decimal), docs/dax-protocol.md §5.3)
  {"op": "decode_lexdecimal", "hex": "c1288020"}             -> {"value": "1.50"}
      str(amazondax.LexDecimal.decode_all(bytes))  (a numeric range key, §5.6)
Any failure -> {"error": str(exc), "error_type": type name} (e.g. DaxValidationError with the
client's message for a bad expression, decimal.Inexact for a too-precise number).
Unknown op -> error. The process exits at EOF.

Module paths (amazon-dax-client 2.1.0, package amazondax/):
  LexDecimal.py            encode(value, mask=0, context=None)
  CborEncoder.py           CborEncoder.append_number / DYNAMODB_CONTEXT
  AttributeValueEncoder.py encode_key, encode_compound_key, encode_attribute_value, encode_values,
                           _check_valid_expression_parameter_names
  CborSExprGenerator.py    encode_expressions (ANTLR grammar in amazondax/grammar2/)
"""
from __future__ import annotations

import base64
import decimal
import json
import sys

from amazondax import AttributeValueEncoder, CborSExprGenerator, LexDecimal
from amazondax.CborDecoder import CborDecoder
from amazondax.CborEncoder import DYNAMODB_CONTEXT, CborEncoder


def from_json(v):
    """DynamoDB JSON AttributeValues (binary base64) -> the client's native form (bytes)."""
    if isinstance(v, dict):
        if len(v) == 1 and "B" in v and isinstance(v["B"], str):
            return {"B": base64.b64decode(v["B"])}
        if len(v) == 1 and "BS" in v and isinstance(v["BS"], list):
            return {"BS": [base64.b64decode(x) for x in v["BS"]]}
        return {k: from_json(x) for k, x in v.items()}
    if isinstance(v, list):
        return [from_json(x) for x in v]
    return v


def schema_of(s):
    if isinstance(s, str):
        names = ["pk", "sk"]
        return [{"AttributeName": names[i], "AttributeType": t.strip()} for i, t in enumerate(s.split(","))]
    return s


def handle(req: dict) -> dict:
    op = req.get("op")
    if op == "lexdecimal":
        if req.get("context", "dynamodb") == "plain":
            value = decimal.Decimal(req["value"])
        else:
            value = DYNAMODB_CONTEXT.create_decimal(req["value"])
        return {"hex": bytes(LexDecimal.encode(value)).hex()}
    if op == "number":
        return {"hex": bytes(CborEncoder().append_number(req["value"]).as_bytes()).hex()}
    if op == "key":
        return {"hex": bytes(AttributeValueEncoder.encode_key(from_json(req["key"]), schema_of(req["schema"]))).hex()}
    if op == "compound_key":
        return {"hex": bytes(AttributeValueEncoder.encode_compound_key(from_json(req["key"]))).hex()}
    if op == "av":
        return {"hex": bytes(AttributeValueEncoder.encode_attribute_value(from_json(req["value"]))).hex()}
    if op == "values":
        item = from_json(req["item"])
        schema = schema_of(req["schema"])
        names = AttributeValueEncoder._get_canonical_attribute_list(item, schema)
        data = AttributeValueEncoder.encode_values(item, schema, None, req.get("attr_list_id", 1))
        return {"hex": bytes(data).hex(), "attribute_names": list(names)}
    if op == "expr":
        names = req.get("names") or {}
        values = from_json(req.get("values") or {})
        AttributeValueEncoder._check_valid_expression_parameter_names(names, values)
        out = CborSExprGenerator.encode_expressions(
            req.get("condition"), req.get("key_condition"), req.get("filter"), req.get("update"),
            req.get("projection"), names, values)
        return {
            "condition": out.Condition.hex() if out.Condition else None,
            "key_condition": out.KeyCondition.hex() if out.KeyCondition else None,
            "filter": out.Filter.hex() if out.Filter else None,
            "update": out.Update.hex() if out.Update else None,
            "projection": out.Projection.hex() if out.Projection else None,
        }
    if op == "decode_number":
        return {"value": str(decoder_of(bytes.fromhex(req["hex"])).decode_number())}
    if op == "decode_lexdecimal":
        return {"value": str(LexDecimal.decode_all(bytes.fromhex(req["hex"])))}
    raise ValueError(f"unknown op {op!r}")


def decoder_of(data: bytes) -> CborDecoder:
    """The client's CBOR decoder over a byte string (as its own nested decoders are made)."""
    def more(buf, n):
        if more.p >= len(data):
            return -1
        chunk = data[more.p:more.p + n]
        buf += chunk
        more.p += len(chunk)
        return len(chunk)
    more.p = 0
    return CborDecoder(more)


def main():
    out = sys.stdout
    for line in sys.stdin:
        if not line.strip():
            continue
        try:
            req = json.loads(line)
        except ValueError as e:
            resp = {"error": f"bad JSON: {e}", "error_type": "JSONDecodeError"}
        else:
            try:
                resp = handle(req)
            except Exception as e:  # noqa: BLE001 - reported to the caller
                resp = {"error": str(e), "error_type": type(e).__name__}
            if isinstance(req, dict) and "id" in req:
                resp["id"] = req["id"]
        out.write(json.dumps(resp, sort_keys=True) + "\n")
        out.flush()


if __name__ == "__main__":
    main()
