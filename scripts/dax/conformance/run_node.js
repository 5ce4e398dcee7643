#!/usr/bin/env node
// Run the DAX conformance matrix with the official Node DAX client or with the AWS SDK for JavaScript.
//
//   node run_node.js --matrix tests/fixtures/dax-conformance/matrix.json --side node-dax|js-sdk \
//       --endpoint URL --admin-endpoint URL --region R --prefix P [--ca-file PEM] [--only id,id]
//
// Sides:
//   * node-dax: @amazon-dax-sdk/client-dax (Dax) at --endpoint (dax://host:port or daxs://...);
//   * js-sdk:   @aws-sdk/client-dynamodb (DynamoDB) at --endpoint (an HTTP DynamoDB endpoint).
// Tables are created and deleted with @aws-sdk/client-dynamodb at --admin-endpoint.
// Credentials: the standard AWS_* environment variables (both clients use the Node provider chain).
// Both clients are loaded from $XACCT_TOOLS_HOME/dax/node/node_modules (scripts/dax/setup.sh).
//
// --ca-file: Node reads NODE_EXTRA_CA_CERTS only at start, so the runner runs itself again with
// NODE_EXTRA_CA_CERTS=<ca-file> unless it is already set to that file (callers may set it directly).
//
// Prints the result list (scripts/dax/conformance/README.md) as one JSON document on stdout;
// diagnostics on stderr. Exit 0 whatever the rows did; non-zero only when the runner itself broke.
'use strict';

const fs = require('fs');
const c = require('./common');

const KEEP = ['Item', 'Items', 'Count', 'ScannedCount', 'LastEvaluatedKey', 'Attributes', 'Responses',
  'UnprocessedItems', 'UnprocessedKeys'];
const OPS = ['GetItem', 'PutItem', 'UpdateItem', 'DeleteItem', 'Query', 'Scan', 'BatchGetItem',
  'BatchWriteItem', 'TransactGetItems', 'TransactWriteItems'];

function log(msg) {
  process.stderr.write(`run_node: ${msg}\n`);
}

function method(op) {
  if(!OPS.includes(op)) {
    throw new Error(`unknown op ${op}`);
  }
  return op[0].toLowerCase() + op.slice(1);
}

function canonicalJson(v) {
  if(Array.isArray(v)) {
    return '[' + v.map(canonicalJson).join(',') + ']';
  }
  if(v && typeof v === 'object') {
    return '{' + Object.keys(v).sort().map((k) => JSON.stringify(k) + ':' + canonicalJson(v[k])).join(',') + '}';
  }
  return JSON.stringify(v);
}

function normalise(res) {
  const out = {};
  for(const k of KEEP) {
    let v = c.toJson(res[k]);
    if(c.isEmpty(v)) {
      continue;
    }
    if(k === 'Responses' && !Array.isArray(v)) {
      const o = {};
      for(const t of Object.keys(v)) {
        o[t] = v[t].slice().sort((a, b) => c.cmp(canonicalJson(a), canonicalJson(b)));
      }
      v = o;
    }
    if(k === 'Responses' && Array.isArray(v)) {
      // TransactGetItems: one {"Item": ...} per request item, {} when the item does not exist
      v = v.map((r) => (r && !c.isEmpty(r.Item) ? {Item: r.Item} : {}));
    }
    out[k] = v;
  }
  return out;
}

async function call(client, op, params, paginate) {
  const m = method(op);
  if(!paginate) {
    return normalise(await client[m](c.toClient(params)));
  }
  const items = [];
  let count = 0;
  let pages = 0;
  let p = c.toClient(params);
  for(;;) {
    const res = await client[m](p);
    pages++;
    items.push(...(res.Items || []));
    count += res.Count || 0;
    if(c.isEmpty(res.LastEvaluatedKey)) {
      break;
    }
    p = {...p, ExclusiveStartKey: res.LastEvaluatedKey};
  }
  const out = {Items: c.toJson(items), Count: count, Pages: pages};
  if(items.length === 0) {
    delete out.Items;
  }
  return out;
}

function reasonJson(r) {
  const o = {Code: r.Code === undefined ? null : r.Code};
  if(!c.isEmpty(r.Item)) {
    o.Item = c.toJson(r.Item);
  }
  return o;
}

function errorResult(e) {
  // SDK: ServiceException subclasses with .name = the DynamoDB code and modeled fields (Item,
  // CancellationReasons). client-dax: DaxServiceError/DaxClientError with .code = the DynamoDB code,
  // .codeSeq, .cancellationReasons ([{Code, Message, Item}], the item with its key added back).
  const code = e.code || e.name || (e.constructor && e.constructor.name) || 'Error';
  const r = {
    outcome: 'error',
    error: typeof code === 'string' ? code : String(code),
    message: e.message,
    native: (e.constructor && e.constructor.name) || e.name,
  };
  const details = {};
  if(!c.isEmpty(e.Item)) {
    details.Item = c.toJson(e.Item);
  }
  const reasons = e.CancellationReasons || e.cancellationReasons;
  if(Array.isArray(reasons) && reasons.length > 0) {
    details.CancellationReasons = reasons.map(reasonJson);
  }
  if(Object.keys(details).length > 0) {
    r.details = details;
  }
  return r;
}

async function waitActive(admin, name) {
  const deadline = Date.now() + 60000;
  for(;;) {
    const d = (await admin.describeTable({TableName: name})).Table;
    const gsis = d.GlobalSecondaryIndexes || [];
    if(d.TableStatus === 'ACTIVE' && gsis.every((g) => !g.IndexStatus || g.IndexStatus === 'ACTIVE')) {
      return;
    }
    if(Date.now() > deadline) {
      throw new Error(`table ${name} not ACTIVE after 60 s`);
    }
    await new Promise((res) => setTimeout(res, 200));
  }
}

async function main() {
  const a = c.parseArgs(process.argv.slice(2), ['matrix', 'side', 'endpoint', 'admin-endpoint', 'region', 'prefix']);
  if(!['node-dax', 'js-sdk'].includes(a.side)) {
    throw new Error(`--side must be node-dax or js-sdk, not ${a.side}`);
  }
  if(c.reexecWithCa(a['ca-file'])) {
    return;
  }
  const m = JSON.parse(fs.readFileSync(a.matrix, 'utf8').split('${p}').join(a.prefix));
  let rows = m.rows;
  if(a.only) {
    const keep = new Set(a.only.split(','));
    rows = rows.filter((r) => keep.has(r.id));
  }
  const {DynamoDB} = c.loadSdk();
  const admin = new DynamoDB({endpoint: a['admin-endpoint'], region: a.region, maxAttempts: 1});
  let t0 = Date.now();
  for(const t of m.tables) {
    await admin.createTable(t.params);
  }
  for(const t of m.tables) {
    await waitActive(admin, t.name);
  }
  log(`${m.tables.length} tables created in ${(Date.now() - t0) / 1000}s`);
  let client = null;
  const results = [];
  try {
    if(a.side === 'js-sdk') {
      client = new DynamoDB({endpoint: a.endpoint, region: a.region, maxAttempts: 1});
    } else {
      const Dax = c.loadDax();
      client = new Dax({endpoints: [a.endpoint], region: a.region});
    }
    t0 = Date.now();
    for(const row of rows) {
      const t1 = process.hrtime.bigint();
      let r;
      try {
        r = {id: row.id, outcome: 'ok', output: await call(client, row.op, row.params, !!row.paginate)};
      } catch (e) {
        r = {id: row.id, ...errorResult(e)};
      }
      r.ms = Number(process.hrtime.bigint() - t1) / 1e6;
      results.push(r);
    }
    log(`${results.length} rows on ${a.side} in ${(Date.now() - t0) / 1000}s`);
  } finally {
    if(client) {
      try {
        if(a.side === 'js-sdk') {
          client.destroy();
        } else {
          client.shutdown();
        }
      } catch (e) {
        log(`close: ${e}`);
      }
    }
    for(const t of m.tables) {
      try {
        await admin.deleteTable({TableName: t.name});
      } catch (e) {
        log(`delete ${t.name}: ${e}`);
      }
    }
    admin.destroy();
  }
  process.stdout.write(JSON.stringify(results) + '\n', () => {
    // the DAX client's background timers (cluster refresh, health checks) may keep the loop alive
    process.exit(0);
  });
}

module.exports = {call, errorResult, normalise};

if(require.main === module) {
  main().catch((e) => {
    process.stderr.write('run_node failed: ' + ((e && e.stack) || e) + '\n');
    process.exit(2);
  });
}
