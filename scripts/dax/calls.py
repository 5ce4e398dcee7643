#!/usr/bin/env python3
"""The call matrix both recorders run (same ids for Python and Node).

Prints a JSON array of calls:
  {"id", "op" (DynamoDB operation, lowerCamel), "params" (DynamoDB JSON; binary values base64
   as in DynamoDB's own JSON wire format), "key_layout", "script" (reply script for the
   responder, see responder.py), "notes"}
stdlib only. Tables (defined in responder.py): t_h{S,N,B} (hash pk only) and
t_h{S,N,B}_r{S,N,B} (hash pk + range sk), plus the doc's "hashonly" (pk S) and "composite"
(pk S, sk N). Index "gsi1" (hash gsi_pk S) is accepted on every table.
"""
from __future__ import annotations

import base64
import json
import sys

TYPES = "SNB"
LAYOUTS = [f"h{h}" for h in TYPES] + [f"h{h}_r{r}" for h in TYPES for r in TYPES]


def b64(b: bytes) -> str:
    return base64.b64encode(b).decode()


# four distinct key values per type (item 1..4)
HASH_VALS = {
    "S": [{"S": "k1"}, {"S": "k2"}, {"S": "k3"}, {"S": "k4"}],
    "N": [{"N": "42"}, {"N": "-7"}, {"N": "1.5"}, {"N": "1E+2"}],
    "B": [{"B": b64(b"\x00\x01")}, {"B": b64(b"\x02")}, {"B": b64(b"\xff\x00")}, {"B": b64(b"\x03")}],
}
RANGE_VALS = {
    "S": [{"S": "r1"}, {"S": "r2"}, {"S": "r3"}, {"S": "r4"}],
    "N": [{"N": "3.14"}, {"N": "0"}, {"N": "-1.50"}, {"N": "123456789"}],
    "B": [{"B": b64(b"\xff")}, {"B": b64(b"\x00")}, {"B": b64(b"\x10\x20")}, {"B": b64(b"\x7f")}],
}


def table(layout: str) -> str:
    return f"t_{layout}"


def key(layout: str, i: int = 0) -> dict:
    h = layout[1]
    k = {"pk": HASH_VALS[h][i]}
    if "_r" in layout:
        k["sk"] = RANGE_VALS[layout[-1]][i]
    return k


def item(layout: str, i: int = 0, **extra) -> dict:
    it = dict(key(layout, i))
    it.update(extra or {"a": {"S": "x"}, "b": {"N": "1.50"}})
    return it


CALLS: list[dict] = []


def add(cid: str, op: str, params: dict, layout: str | None, notes: str = "", script: dict | None = None,
        expect_no_data: bool = False):
    assert not any(c["id"] == cid for c in CALLS), cid
    c = {"id": cid, "op": op, "params": params, "key_layout": layout, "script": script or {}, "notes": notes}
    if expect_no_data:
        c["expect_no_data"] = True  # the client fails before sending the data request
    CALLS.append(c)


# --------------------------------------------------------------------------- doc examples first
# (first defineAttributeListId of a run gets id 100, as in the example of docs/dax-protocol.md §5.5)
add("doc.putItem.hashonly", "putItem", {
    "TableName": "hashonly",
    "Item": {"pk": {"S": "k1"}, "a": {"S": "x"}, "b": {"N": "1.50"}, "z": {"SS": ["q", "r"]}}},
    "hS", "mirrors docs/dax-protocol.md §5.5")
add("doc.getItem.hashonly", "getItem", {"TableName": "hashonly", "Key": {"pk": {"S": "k1"}}}, "hS",
    "mirrors docs/dax-protocol.md §9.4 getItem hashonly")
add("doc.getItem.hashonly.cr_total", "getItem", {
    "TableName": "hashonly", "Key": {"pk": {"S": "k1"}}, "ConsistentRead": True,
    "ReturnConsumedCapacity": "TOTAL"}, "hS", "mirrors docs/dax-protocol.md §9.4 getItem ConsistentRead+TOTAL")
add("doc.getItem.hashonly.proj", "getItem", {
    "TableName": "hashonly", "Key": {"pk": {"S": "k1"}}, "ProjectionExpression": "a, #bb",
    "ExpressionAttributeNames": {"#bb": "b"}}, "hS", "mirrors docs/dax-protocol.md §9.4 getItem projection")
add("doc.query.composite", "query", {
    "TableName": "composite", "KeyConditionExpression": "pk = :h AND sk > :s",
    "FilterExpression": "begins_with(v, :p)",
    "ExpressionAttributeValues": {":h": {"S": "h"}, ":s": {"N": "1"}, ":p": {"S": "a"}},
    "Limit": 10, "ScanIndexForward": False, "ConsistentRead": True}, "hS_rN", "mirrors docs/dax-protocol.md §9.4 query composite")
add("doc.scan.hashonly", "scan", {
    "TableName": "hashonly", "Segment": 0, "TotalSegments": 2, "Select": "ALL_ATTRIBUTES"}, "hS",
    "mirrors docs/dax-protocol.md §9.4 scan")
add("doc.batchGetItem.hashonly", "batchGetItem", {
    "RequestItems": {"hashonly": {"Keys": [{"pk": {"S": "k1"}}], "ConsistentRead": True}}}, "hS",
    "mirrors docs/dax-protocol.md §9.4 batchGetItem")
add("doc.batchWriteItem.hashonly", "batchWriteItem", {
    "RequestItems": {"hashonly": [
        {"PutRequest": {"Item": {"pk": {"S": "k2"}, "a": {"S": "y"}}}},
        {"DeleteRequest": {"Key": {"pk": {"S": "k9"}}}}]}}, "hS", "mirrors docs/dax-protocol.md §9.4 batchWriteItem")
add("doc.transactGetItems.hashonly", "transactGetItems", {
    "TransactItems": [{"Get": {"TableName": "hashonly", "Key": {"pk": {"S": "k2"}}}}]}, "hS",
    "mirrors docs/dax-protocol.md §9.4 transactGetItems")
add("doc.transactWriteItems.put_check", "transactWriteItems", {
    "TransactItems": [
        {"Put": {"TableName": "hashonly", "Item": {"pk": {"S": "k3"}, "a": {"S": "z"}}}},
        {"ConditionCheck": {"TableName": "hashonly", "Key": {"pk": {"S": "k2"}},
                            "ConditionExpression": "attribute_exists(pk)"}}],
    "ClientRequestToken": "tok-1"}, "hS", "mirrors docs/dax-protocol.md §9.4 transactWriteItems (Python)")
add("doc.transactWriteItems.update_delete", "transactWriteItems", {
    "TransactItems": [
        {"Update": {"TableName": "hashonly", "Key": {"pk": {"S": "k1"}}, "UpdateExpression": "REMOVE a"}},
        {"Delete": {"TableName": "composite", "Key": {"pk": {"S": "h"}, "sk": {"N": "3.14"}}}}]},
    "hS", "mirrors docs/dax-protocol.md §9.4 transactWriteItems (Node, token generated by the client)")

# --------------------------------------------------------------------------- every method x layout
for L in LAYOUTS:
    T = table(L)
    comp = "_r" in L
    add(f"getItem.{L}", "getItem", {"TableName": T, "Key": key(L)}, L)
    add(f"putItem.{L}", "putItem", {"TableName": T, "Item": item(L)}, L)
    add(f"updateItem.{L}", "updateItem", {
        "TableName": T, "Key": key(L), "UpdateExpression": "SET a = :v",
        "ExpressionAttributeValues": {":v": {"S": "y"}}}, L)
    add(f"deleteItem.{L}", "deleteItem", {"TableName": T, "Key": key(L)}, L)
    if comp:
        kc = {"KeyConditionExpression": "pk = :h AND sk >= :r",
              "ExpressionAttributeValues": {":h": key(L)["pk"], ":r": key(L)["sk"]}}
    else:
        kc = {"KeyConditionExpression": "pk = :h", "ExpressionAttributeValues": {":h": key(L)["pk"]}}
    add(f"query.{L}", "query", {"TableName": T, **kc}, L)
    add(f"scan.{L}", "scan", {"TableName": T}, L)
    add(f"scan.{L}.esk", "scan", {"TableName": T, "ExclusiveStartKey": key(L, 1)}, L,
        "ExclusiveStartKey exercises the table key encoding")
    add(f"batchGetItem.{L}", "batchGetItem", {"RequestItems": {T: {"Keys": [key(L, 0), key(L, 1)]}}}, L)
    add(f"batchWriteItem.{L}", "batchWriteItem", {"RequestItems": {T: [
        {"PutRequest": {"Item": item(L, 0)}}, {"DeleteRequest": {"Key": key(L, 1)}}]}}, L)
    add(f"transactGetItems.{L}", "transactGetItems", {"TransactItems": [
        {"Get": {"TableName": T, "Key": key(L, 0)}}, {"Get": {"TableName": T, "Key": key(L, 1)}}]}, L)
    add(f"transactWriteItems.{L}", "transactWriteItems", {"TransactItems": [
        {"Put": {"TableName": T, "Item": item(L, 0)}},
        {"Update": {"TableName": T, "Key": key(L, 1), "UpdateExpression": "SET a = :v",
                    "ExpressionAttributeValues": {":v": {"S": "y"}}}},
        {"Delete": {"TableName": T, "Key": key(L, 2)}},
        {"ConditionCheck": {"TableName": T, "Key": key(L, 3), "ConditionExpression": "attribute_exists(pk)"}}],
        "ClientRequestToken": f"tok-{L}"}, L, "one item of each kind: Put, Update, Delete, ConditionCheck")

# --------------------------------------------------------------------------- number and text forms in keys
for i, n in enumerate(["0", "-7", "1.5", "1.50", "-0.5", "0.0", "3.14E11", "1e-5", "18446744073709551615",
                       "18446744073709551616", "-18446744073709551616", "-18446744073709551617",
                       "12345678901234567890123456789012345678", "9.9999999999999999999999999999999999999E+125",
                       "1E-130", "2.5"]):
    add(f"getItem.hN.num{i:02d}", "getItem", {"TableName": "t_hN", "Key": {"pk": {"N": n}}}, "hN",
        f"numeric hash key {n}: CBOR number encoding (docs/dax-protocol.md §5.3)")
for i, n in enumerate(["0", "-1", "1.5", "1.50", "10", "0.001", "-0.001", "3.141", "1E+100", "-1E-100",
                       "123456789012345678901234567890123456", "-3.14", "2.5", "1e-130"]):
    add(f"getItem.hS_rN.num{i:02d}", "getItem", {"TableName": "t_hS_rN",
                                                 "Key": {"pk": {"S": "h"}, "sk": {"N": n}}}, "hS_rN",
        f"numeric range key {n}: lexdecimal (docs/dax-protocol.md §5.6)")
add("getItem.hN_rN.neg", "getItem", {"TableName": "t_hN_rN", "Key": {"pk": {"N": "-2.5"}, "sk": {"N": "-100"}}},
    "hN_rN", "negative decimal hash and negative range")
add("getItem.hS.unicode", "getItem", {"TableName": "t_hS", "Key": {"pk": {"S": "\u043a\u043b\u044e\u0447-\u00e9-\U0001f600"}}},
    "hS", "non-ASCII text hash key (raw UTF-8 in KEY)")
add("getItem.hS_rS.unicode", "getItem", {"TableName": "t_hS_rS",
                                         "Key": {"pk": {"S": "\u00e9"}, "sk": {"S": "\u00fc\U0001f600"}}},
    "hS_rS", "non-ASCII text hash and range key")
add("getItem.hB_rB.zeros", "getItem", {"TableName": "t_hB_rB",
                                       "Key": {"pk": {"B": b64(b"\x00")}, "sk": {"B": b64(b"\x00\x00")}}},
    "hB_rB", "binary keys with NUL bytes")

# --------------------------------------------------------------------------- optional parameters
L = "hS_rN"
T = table(L)
K = key(L)
RICH = {
    "s": {"S": "text"}, "n": {"N": "-12.50"}, "b": {"B": b64(b"\x00\xff")}, "t": {"BOOL": True},
    "f": {"BOOL": False}, "z": {"NULL": True}, "ss": {"SS": ["b", "a"]}, "ns": {"NS": ["1", "2.5", "-3"]},
    "bs": {"BS": [b64(b"\x01"), b64(b"\x02\x03")]},
    "l": {"L": [{"S": "x"}, {"N": "1"}, {"L": []}, {"M": {}}]},
    "m": {"M": {"zz": {"S": "1"}, "aa": {"N": "2"}, "nested": {"M": {"k": {"BOOL": False}}}}},
}
NUMS = {f"n{i:02d}": {"N": v} for i, v in enumerate([
    "0", "1", "-1", "23", "24", "255", "256", "65535", "65536", "4294967296", "-4294967297",
    "18446744073709551615", "18446744073709551616", "-18446744073709551617", "1.0", "2.5", "0.1", "-0.5",
    "1e2", "1E+2", "3.14E11", "1.50", "100.00", "12345678901234567890.123456789012345678",
    "9007199254740991", "9007199254740992", "-9007199254740992", "-9007199254740993", "9223372036854775808",
    "123456789.0123456789", "1e-7", "1E21", "1E-130", "-0"])}

# GetItem
add("getItem.cr_true", "getItem", {"TableName": T, "Key": K, "ConsistentRead": True}, L)
add("getItem.cr_false", "getItem", {"TableName": T, "Key": K, "ConsistentRead": False}, L)
add("getItem.proj", "getItem", {"TableName": T, "Key": K, "ProjectionExpression": "a, b.c, d[1], e[0].f"}, L,
    "projection: reply is an ordinal map")
add("getItem.proj_ean", "getItem", {"TableName": T, "Key": K, "ProjectionExpression": "#n, a.#m",
                                    "ExpressionAttributeNames": {"#n": "name", "#m": "x-y"}}, L)
add("getItem.rcc_none", "getItem", {"TableName": T, "Key": K, "ReturnConsumedCapacity": "NONE"}, L)
add("getItem.rcc_total", "getItem", {"TableName": T, "Key": K, "ReturnConsumedCapacity": "TOTAL"}, L)
add("getItem.rcc_indexes", "getItem", {"TableName": T, "Key": K, "ReturnConsumedCapacity": "INDEXES"}, L)
add("getItem.all", "getItem", {"TableName": T, "Key": K, "ConsistentRead": True, "ProjectionExpression": "#n, b",
                               "ExpressionAttributeNames": {"#n": "a"}, "ReturnConsumedCapacity": "TOTAL"}, L)
add("getItem.missing", "getItem", {"TableName": T, "Key": K}, L, "reply: item not found (null)",
    {"missing": True})
add("getItem.missing_rcc", "getItem", {"TableName": T, "Key": K, "ReturnConsumedCapacity": "TOTAL"}, L,
    "reply: item not found, only consumed capacity", {"missing": True})
add("getItem.err_table", "getItem", {"TableName": "t_missing", "Key": {"pk": {"S": "k1"}}}, None,
    "unknown table: defineKeySchema gets ResourceNotFound [4,37,38,39,41]; no data request follows",
    expect_no_data=True)

# PutItem
add("putItem.cond", "putItem", {"TableName": T, "Item": item(L), "ConditionExpression": "attribute_not_exists(pk)"}, L)
add("putItem.cond_ean_eav", "putItem", {
    "TableName": T, "Item": item(L), "ConditionExpression": "#a <> :v AND size(b) < :n",
    "ExpressionAttributeNames": {"#a": "a"}, "ExpressionAttributeValues": {":v": {"S": "q"}, ":n": {"N": "10"}}}, L)
add("putItem.rv_none", "putItem", {"TableName": T, "Item": item(L), "ReturnValues": "NONE"}, L)
add("putItem.rv_all_old", "putItem", {"TableName": T, "Item": item(L), "ReturnValues": "ALL_OLD"}, L)
add("putItem.rcc_total", "putItem", {"TableName": T, "Item": item(L), "ReturnConsumedCapacity": "TOTAL"}, L)
add("putItem.rcc_indexes", "putItem", {"TableName": T, "Item": item(L), "ReturnConsumedCapacity": "INDEXES"}, L)
add("putItem.ricm_size", "putItem", {"TableName": T, "Item": item(L), "ReturnItemCollectionMetrics": "SIZE"}, L)
add("putItem.ricm_none", "putItem", {"TableName": T, "Item": item(L), "ReturnItemCollectionMetrics": "NONE"}, L)
add("putItem.rich", "putItem", {"TableName": T, "Item": {**K, **RICH}}, L, "every AttributeValue type")
add("putItem.numbers", "putItem", {"TableName": T, "Item": {**K, **NUMS}}, L,
    "number forms in non-key values (Node sends some as float64)")
add("putItem.key_only", "putItem", {"TableName": T, "Item": K}, L,
    "no non-key attributes: attribute list id 1 (never defined on the wire)")
add("putItem.names_order", "putItem", {"TableName": T, "Item": {
    **K, "z": {"S": "1"}, "a": {"S": "2"}, "M": {"S": "3"}, "_x": {"S": "4"}, "\u00e9": {"S": "5"},
    "a0": {"S": "6"}, "A": {"S": "7"}}}, L, "attribute-list name sorting")
add("putItem.all", "putItem", {
    "TableName": T, "Item": item(L), "ConditionExpression": "attribute_not_exists(#p) OR #a = :v",
    "ExpressionAttributeNames": {"#p": "pk", "#a": "a"}, "ExpressionAttributeValues": {":v": {"S": "x"}},
    "ReturnValues": "ALL_OLD", "ReturnConsumedCapacity": "INDEXES", "ReturnItemCollectionMetrics": "SIZE"}, L)
add("putItem.err_ccf", "putItem", {"TableName": T, "Item": item(L), "ConditionExpression": "attribute_not_exists(pk)"},
    L, "reply: ConditionalCheckFailed error (Python retries it)", {"error": "ConditionalCheckFailed"})

add("putItem.rvoccf", "putItem", {"TableName": T, "Item": item(L), "ConditionExpression": "attribute_not_exists(pk)",
                                 "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}, L,
    "single-item ReturnValuesOnConditionCheckFailure: see whether the client encodes it (no DAX kwargs key exists)")

# UpdateItem
UPD = {"TableName": T, "Key": K, "UpdateExpression": "SET a = :v", "ExpressionAttributeValues": {":v": {"S": "y"}}}
for rv in ["NONE", "ALL_OLD", "UPDATED_OLD", "ALL_NEW", "UPDATED_NEW"]:
    add(f"updateItem.rv_{rv.lower()}", "updateItem", {**UPD, "ReturnValues": rv}, L)
add("updateItem.cond", "updateItem", {**UPD, "ConditionExpression": "attribute_exists(pk) AND a <> :v"}, L)
add("updateItem.complex", "updateItem", {
    "TableName": T, "Key": K,
    "UpdateExpression": "SET a = a + :y, b = list_append(b, :x) REMOVE c[1] ADD d :y DELETE e :s",
    "ExpressionAttributeValues": {":y": {"N": "2"}, ":x": {"L": [{"S": "q"}]}, ":s": {"SS": ["s1"]}}}, L,
    "every update action")
add("updateItem.ean", "updateItem", {"TableName": T, "Key": K, "UpdateExpression": "SET #n = :v, #m.#n = :v",
                                     "ExpressionAttributeNames": {"#n": "name", "#m": "map"},
                                     "ExpressionAttributeValues": {":v": {"S": "y"}}}, L)
add("updateItem.if_not_exists", "updateItem", {
    "TableName": T, "Key": K, "UpdateExpression": "SET a = if_not_exists(a, :z), c = c - :one",
    "ExpressionAttributeValues": {":z": {"N": "0"}, ":one": {"N": "1"}}}, L)
add("updateItem.rcc_total", "updateItem", {**UPD, "ReturnConsumedCapacity": "TOTAL"}, L)
add("updateItem.ricm_size", "updateItem", {**UPD, "ReturnItemCollectionMetrics": "SIZE"}, L)
add("updateItem.all", "updateItem", {
    **UPD, "ConditionExpression": "#a IN (:v, :w) OR attribute_type(#a, :t)",
    "ExpressionAttributeNames": {"#a": "a"},
    "ExpressionAttributeValues": {":v": {"S": "y"}, ":w": {"S": "w"}, ":t": {"S": "S"}},
    "ReturnValues": "ALL_NEW", "ReturnConsumedCapacity": "INDEXES", "ReturnItemCollectionMetrics": "SIZE"}, L)

add("updateItem.rvoccf", "updateItem", {**UPD, "ConditionExpression": "attribute_exists(pk)",
                                       "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}, L,
    "single-item ReturnValuesOnConditionCheckFailure (no DAX kwargs key exists)")

# DeleteItem
add("deleteItem.cond", "deleteItem", {"TableName": T, "Key": K, "ConditionExpression": "attribute_exists(pk)"}, L)
add("deleteItem.cond_between", "deleteItem", {
    "TableName": T, "Key": K, "ConditionExpression": "NOT (c BETWEEN :lo AND :hi)",
    "ExpressionAttributeValues": {":lo": {"N": "1"}, ":hi": {"N": "9"}}}, L)
add("deleteItem.rv_none", "deleteItem", {"TableName": T, "Key": K, "ReturnValues": "NONE"}, L)
add("deleteItem.rv_all_old", "deleteItem", {"TableName": T, "Key": K, "ReturnValues": "ALL_OLD"}, L)
add("deleteItem.rcc_total", "deleteItem", {"TableName": T, "Key": K, "ReturnConsumedCapacity": "TOTAL"}, L)
add("deleteItem.ricm_size", "deleteItem", {"TableName": T, "Key": K, "ReturnItemCollectionMetrics": "SIZE"}, L)
add("deleteItem.all", "deleteItem", {
    "TableName": T, "Key": K, "ConditionExpression": "contains(#t, :v)", "ExpressionAttributeNames": {"#t": "tags"},
    "ExpressionAttributeValues": {":v": {"S": "x"}}, "ReturnValues": "ALL_OLD",
    "ReturnConsumedCapacity": "TOTAL", "ReturnItemCollectionMetrics": "SIZE"}, L)
add("deleteItem.rvoccf", "deleteItem", {"TableName": T, "Key": K, "ConditionExpression": "attribute_exists(pk)",
                                       "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}, L,
    "single-item ReturnValuesOnConditionCheckFailure (no DAX kwargs key exists)")
add("deleteItem.err_ccf", "deleteItem", {"TableName": T, "Key": K, "ConditionExpression": "attribute_exists(pk)"},
    L, "reply: ConditionalCheckFailed error", {"error": "ConditionalCheckFailed"})

# Query
Q = {"TableName": T, "KeyConditionExpression": "pk = :h", "ExpressionAttributeValues": {":h": {"S": "k1"}}}
QI = {"TableName": T, "IndexName": "gsi1", "KeyConditionExpression": "gsi_pk = :g",
      "ExpressionAttributeValues": {":g": {"S": "g1"}}}
add("query.cr_true", "query", {**Q, "ConsistentRead": True}, L)
add("query.cr_false", "query", {**Q, "ConsistentRead": False}, L)
add("query.proj", "query", {**Q, "ProjectionExpression": "a, b"}, L)
add("query.filter", "query", {**Q, "FilterExpression": "a = :a OR (b > :b AND NOT c < :b)",
                              "ExpressionAttributeValues": {":h": {"S": "k1"}, ":a": {"S": "x"}, ":b": {"N": "5"}}}, L)
add("query.limit", "query", {**Q, "Limit": 1}, L, "reply carries LastEvaluatedKey")
add("query.esk", "query", {**Q, "ExclusiveStartKey": K}, L)
add("query.index", "query", {**QI}, L)
add("query.index_esk", "query", {**QI, "ExclusiveStartKey": {**K, "gsi_pk": {"S": "g1"}}, "Limit": 5}, L,
    "index ExclusiveStartKey = compound key (indefinite map)")
add("query.sif_true", "query", {**Q, "ScanIndexForward": True}, L)
add("query.sif_false", "query", {**Q, "ScanIndexForward": False}, L)
add("query.select_all", "query", {**Q, "Select": "ALL_ATTRIBUTES"}, L)
add("query.select_projected", "query", {**QI, "Select": "ALL_PROJECTED_ATTRIBUTES"}, L)
add("query.select_count", "query", {**Q, "Select": "COUNT"}, L)
add("query.select_specific", "query", {**Q, "Select": "SPECIFIC_ATTRIBUTES", "ProjectionExpression": "a"}, L)
add("query.rcc_total", "query", {**Q, "ReturnConsumedCapacity": "TOTAL"}, L)
add("query.rcc_indexes", "query", {**QI, "ReturnConsumedCapacity": "INDEXES"}, L)
add("query.kc_between", "query", {
    "TableName": T, "KeyConditionExpression": "pk = :h AND sk BETWEEN :lo AND :hi",
    "ExpressionAttributeValues": {":h": {"S": "k1"}, ":lo": {"N": "-1"}, ":hi": {"N": "1.5"}}}, L)
add("query.kc_begins", "query", {
    "TableName": "t_hS_rS", "KeyConditionExpression": "#p = :h AND begins_with(#s, :pre)",
    "ExpressionAttributeNames": {"#p": "pk", "#s": "sk"},
    "ExpressionAttributeValues": {":h": {"S": "k1"}, ":pre": {"S": "r"}}}, "hS_rS")
add("query.all", "query", {
    **QI, "FilterExpression": "#a <> :x", "ProjectionExpression": "#a, b", "ExpressionAttributeNames": {"#a": "a"},
    "ExpressionAttributeValues": {":g": {"S": "g1"}, ":x": {"S": "x"}}, "Limit": 3, "ScanIndexForward": False,
    "ExclusiveStartKey": {**K, "gsi_pk": {"S": "g1"}}, "ConsistentRead": False, "Select": "SPECIFIC_ATTRIBUTES",
    "ReturnConsumedCapacity": "INDEXES"}, L)

# Scan
S = {"TableName": T}
add("scan.segment", "scan", {**S, "Segment": 1, "TotalSegments": 4}, L)
add("scan.filter", "scan", {**S, "FilterExpression": "attribute_exists(a) AND b >= :n",
                            "ExpressionAttributeValues": {":n": {"N": "0.5"}}}, L)
add("scan.proj", "scan", {**S, "ProjectionExpression": "a, l[2]"}, L)
add("scan.limit", "scan", {**S, "Limit": 2}, L)
add("scan.index", "scan", {**S, "IndexName": "gsi1"}, L)
add("scan.index_esk", "scan", {**S, "IndexName": "gsi1", "ExclusiveStartKey": {**K, "gsi_pk": {"S": "g1"}}}, L)
add("scan.select_count", "scan", {**S, "Select": "COUNT"}, L)
add("scan.cr_true", "scan", {**S, "ConsistentRead": True}, L)
add("scan.rcc_total", "scan", {**S, "ReturnConsumedCapacity": "TOTAL"}, L)
add("scan.rcc_indexes", "scan", {**S, "IndexName": "gsi1", "ReturnConsumedCapacity": "INDEXES"}, L)
add("scan.all", "scan", {
    **S, "IndexName": "gsi1", "Segment": 0, "TotalSegments": 2, "FilterExpression": "#a = :v",
    "ProjectionExpression": "#a", "ExpressionAttributeNames": {"#a": "a"},
    "ExpressionAttributeValues": {":v": {"S": "x"}}, "Limit": 7, "ConsistentRead": False,
    "ExclusiveStartKey": {**K, "gsi_pk": {"S": "g1"}}, "Select": "SPECIFIC_ATTRIBUTES",
    "ReturnConsumedCapacity": "TOTAL"}, L)

# BatchGetItem
BK = [key(L, 0), key(L, 1)]
add("batchGetItem.cr", "batchGetItem", {"RequestItems": {T: {"Keys": BK, "ConsistentRead": True}}}, L)
add("batchGetItem.proj_ean", "batchGetItem", {"RequestItems": {T: {
    "Keys": BK, "ProjectionExpression": "#a, b", "ExpressionAttributeNames": {"#a": "a"}}}}, L)
add("batchGetItem.two_tables", "batchGetItem", {"RequestItems": {
    T: {"Keys": BK}, "t_hB": {"Keys": [key("hB", 0)], "ConsistentRead": False}}}, L)
add("batchGetItem.rcc_total", "batchGetItem", {"RequestItems": {T: {"Keys": BK}}, "ReturnConsumedCapacity": "TOTAL"}, L)
add("batchGetItem.rcc_indexes", "batchGetItem", {"RequestItems": {T: {"Keys": BK}},
                                                 "ReturnConsumedCapacity": "INDEXES"}, L)
add("batchGetItem.unprocessed", "batchGetItem", {"RequestItems": {T: {"Keys": BK, "ConsistentRead": True}}}, L,
    "reply returns the last key as UnprocessedKeys", {"unprocessed": True})

# BatchWriteItem
BW = [{"PutRequest": {"Item": item(L, 0)}}, {"DeleteRequest": {"Key": key(L, 1)}}]
add("batchWriteItem.rcc_total", "batchWriteItem", {"RequestItems": {T: BW}, "ReturnConsumedCapacity": "TOTAL"}, L)
add("batchWriteItem.ricm_size", "batchWriteItem", {"RequestItems": {T: BW}, "ReturnItemCollectionMetrics": "SIZE"}, L)
add("batchWriteItem.two_tables", "batchWriteItem", {"RequestItems": {
    T: BW, "t_hN": [{"PutRequest": {"Item": item("hN", 0, c={"BOOL": True})}}]}}, L)
add("batchWriteItem.deletes_only", "batchWriteItem", {"RequestItems": {T: [
    {"DeleteRequest": {"Key": key(L, 0)}}, {"DeleteRequest": {"Key": key(L, 1)}}]}}, L)
add("batchWriteItem.unprocessed", "batchWriteItem", {"RequestItems": {T: BW}}, L,
    "reply returns the first write as UnprocessedItems", {"unprocessed": True})
add("batchWriteItem.all", "batchWriteItem", {"RequestItems": {T: BW}, "ReturnConsumedCapacity": "INDEXES",
                                             "ReturnItemCollectionMetrics": "SIZE"}, L)

# TransactGetItems
add("transactGetItems.proj_ean", "transactGetItems", {"TransactItems": [
    {"Get": {"TableName": T, "Key": key(L, 0), "ProjectionExpression": "#a, b", "ExpressionAttributeNames": {"#a": "a"}}},
    {"Get": {"TableName": T, "Key": key(L, 1)}}]}, L, "one projected, one full item")
add("transactGetItems.two_tables", "transactGetItems", {"TransactItems": [
    {"Get": {"TableName": T, "Key": key(L, 0)}}, {"Get": {"TableName": "t_hN", "Key": key("hN", 0)}}]}, L)
add("transactGetItems.rcc_total", "transactGetItems", {"TransactItems": [{"Get": {"TableName": T, "Key": K}}],
                                                       "ReturnConsumedCapacity": "TOTAL"}, L)
add("transactGetItems.rcc_indexes", "transactGetItems", {"TransactItems": [{"Get": {"TableName": T, "Key": K}}],
                                                         "ReturnConsumedCapacity": "INDEXES"}, L)
add("transactGetItems.missing", "transactGetItems", {"TransactItems": [{"Get": {"TableName": T, "Key": K}}]}, L,
    "reply: item not found (null)", {"missing": True})

# TransactWriteItems
TW = [{"Put": {"TableName": T, "Item": item(L, 0)}},
      {"ConditionCheck": {"TableName": T, "Key": key(L, 1), "ConditionExpression": "attribute_exists(pk)"}}]
add("transactWriteItems.token_auto", "transactWriteItems", {"TransactItems": TW}, L,
    "no ClientRequestToken: Node generates a UUIDv4 (made deterministic by the recorder), Python sends none")
add("transactWriteItems.rvoccf", "transactWriteItems", {"TransactItems": [
    {"Put": {"TableName": T, "Item": item(L, 0), "ConditionExpression": "attribute_not_exists(pk)",
             "ReturnValuesOnConditionCheckFailure": "NONE"}},
    {"Update": {"TableName": T, "Key": key(L, 1), "UpdateExpression": "ADD c :one",
                "ConditionExpression": "c < :max", "ReturnValuesOnConditionCheckFailure": "ALL_OLD",
                "ExpressionAttributeValues": {":one": {"N": "1"}, ":max": {"N": "10"}}}},
    {"Delete": {"TableName": T, "Key": key(L, 2), "ConditionExpression": "attribute_exists(#p)",
                "ExpressionAttributeNames": {"#p": "pk"}, "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}},
    {"ConditionCheck": {"TableName": T, "Key": key(L, 3), "ConditionExpression": "a = :v",
                        "ExpressionAttributeValues": {":v": {"S": "x"}},
                        "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}],
    "ClientRequestToken": "tok-rvoccf"}, L)
add("transactWriteItems.rcc_total", "transactWriteItems", {"TransactItems": TW, "ReturnConsumedCapacity": "TOTAL",
                                                           "ClientRequestToken": "tok-rcc"}, L)
add("transactWriteItems.rcc_indexes", "transactWriteItems", {"TransactItems": TW, "ReturnConsumedCapacity": "INDEXES",
                                                             "ClientRequestToken": "tok-rcci"}, L)
add("transactWriteItems.ricm_size", "transactWriteItems", {"TransactItems": TW, "ReturnItemCollectionMetrics": "SIZE",
                                                           "ClientRequestToken": "tok-ricm"}, L)
add("transactWriteItems.two_tables", "transactWriteItems", {"TransactItems": [
    TW[0], {"Delete": {"TableName": "t_hB_rS", "Key": key("hB_rS", 0)}}], "ClientRequestToken": "tok-2t"}, L)
add("transactWriteItems.all", "transactWriteItems", {"TransactItems": TW, "ReturnConsumedCapacity": "INDEXES",
                                                     "ReturnItemCollectionMetrics": "SIZE",
                                                     "ClientRequestToken": "tok-all"}, L)
add("transactWriteItems.err_cancel", "transactWriteItems", {"TransactItems": [
    TW[0], {"ConditionCheck": {"TableName": T, "Key": key(L, 1), "ConditionExpression": "attribute_exists(pk)",
                               "ReturnValuesOnConditionCheckFailure": "ALL_OLD"}}],
    "ClientRequestToken": "tok-cancel"}, L,
    "reply: TransactionCanceled with reasons [None, ConditionalCheckFailed + ALL_OLD item]",
    {"error": "TransactionCanceled"})


def main():
    json.dump(CALLS, sys.stdout, indent=1, ensure_ascii=False)
    sys.stdout.write("\n")


if __name__ == "__main__":
    main()
