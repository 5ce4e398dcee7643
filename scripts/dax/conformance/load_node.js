#!/usr/bin/env node
// Steady load through the official Node DAX client, for the gateway's failover test.
//
//   node load_node.js --endpoint dax://127.0.0.1:PORT --region R --table T --prefix K --seconds S
//       [--ca-file PEM] [--hash-key pk] [--range-key sk]
//
// Same loop and output as load_python.py: PutItem of a new key K-<seq> with a unique value, GetItem
// of that key, GetItem of an earlier successfully written key (values checked); one JSON line per
// operation {"seq","op","key","ok","error","t_ms","lat_ms"} and a final {"summary": {...}} line;
// stops after S seconds or on SIGTERM/SIGINT. An http(s):// endpoint uses @aws-sdk/client-dynamodb.
// --ca-file: re-runs itself with NODE_EXTRA_CA_CERTS (see run_node.js).
'use strict';

const crypto = require('crypto');
const c = require('./common');

function write(line) {
  return new Promise((res) => process.stdout.write(JSON.stringify(line) + '\n', res));
}

async function main() {
  const a = c.parseArgs(process.argv.slice(2), ['endpoint', 'region', 'table', 'prefix', 'seconds']);
  if(c.reexecWithCa(a['ca-file'])) {
    return;
  }
  const seconds = Number(a.seconds);
  const hashKey = a['hash-key'] || 'pk';
  const rangeKey = a['range-key'];
  let stop = false;
  process.on('SIGTERM', () => {
    stop = true;
  });
  process.on('SIGINT', () => {
    stop = true;
  });
  const direct = /^https?:\/\//.test(a.endpoint);
  let client;
  if(direct) {
    const {DynamoDB} = c.loadSdk();
    client = new DynamoDB({endpoint: a.endpoint, region: a.region, maxAttempts: 1});
  } else {
    const Dax = c.loadDax();
    client = new Dax({endpoints: [a.endpoint], region: a.region});
  }
  const key = (k) => {
    const o = {[hashKey]: {S: k}};
    if(rangeKey) {
      o[rangeKey] = {N: '0'};
    }
    return o;
  };
  const t0 = process.hrtime.bigint();
  const nowMs = () => Number(process.hrtime.bigint() - t0) / 1e6;
  const stats = {puts: 0, puts_ok: 0, gets: 0, gets_ok: 0, errors: {}, first_error_ms: null, last_error_ms: null};
  let lastOk = 0;
  let longestGap = 0;
  const written = [];
  const round = (x) => Math.round(x * 10) / 10;

  async function record(seq, op, k, ok, error, started) {
    const now = nowMs();
    await write({seq, op, key: k, ok, error, t_ms: round(now), lat_ms: round(now - started)});
    stats[op === 'put' ? 'puts' : 'gets']++;
    if(ok) {
      stats[op === 'put' ? 'puts_ok' : 'gets_ok']++;
      longestGap = Math.max(longestGap, now - lastOk);
      lastOk = now;
    } else {
      stats.errors[error] = (stats.errors[error] || 0) + 1;
      if(stats.first_error_ms === null) {
        stats.first_error_ms = round(now);
      }
      stats.last_error_ms = round(now);
    }
  }
  const errorName = (e) => String(e.code || e.name || (e.constructor && e.constructor.name) || 'Error');

  async function get(seq, k, want) {
    const started = nowMs();
    try {
      const res = await client.getItem({TableName: a.table, Key: key(k), ConsistentRead: true});
      if(!res.Item) {
        await record(seq, 'get', k, false, 'ItemMissing', started);
      } else if(!res.Item.v || res.Item.v.S !== want) {
        await record(seq, 'get', k, false, 'ValueMismatch', started);
      } else {
        await record(seq, 'get', k, true, null, started);
      }
    } catch (e) {
      await record(seq, 'get', k, false, errorName(e), started);
    }
  }

  let seq = 0;
  try {
    while(!stop && nowMs() < seconds * 1000) {
      const k = `${a.prefix}-${seq}`;
      const value = `${k}-${crypto.randomUUID()}`;
      const started = nowMs();
      let ok = false;
      try {
        await client.putItem({TableName: a.table, Item: {...key(k), v: {S: value}}});
        ok = true;
        await record(seq, 'put', k, true, null, started);
        written.push([k, value]);
      } catch (e) {
        await record(seq, 'put', k, false, errorName(e), started);
      }
      if(ok) {
        await get(seq, k, value);
      }
      if(written.length > 1) {
        const [ek, ev] = written[(seq * 7919) % (written.length - 1)];
        await get(seq, ek, ev);
      }
      seq++;
    }
  } finally {
    try {
      if(direct) {
        client.destroy();
      } else {
        client.shutdown();
      }
    } catch (e) {
      process.stderr.write(`load_node: close: ${e}\n`);
    }
  }
  const elapsed = nowMs();
  stats.seconds = round(elapsed) / 1000;
  stats.longest_gap_ms = round(Math.max(longestGap, elapsed - lastOk));
  stats.stopped_by_signal = stop;
  await write({summary: stats});
  process.exit(0);
}

main().catch((e) => {
  process.stderr.write('load_node failed: ' + ((e && e.stack) || e) + '\n');
  process.exit(2);
});
