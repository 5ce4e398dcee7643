// Drives the official Node DAX client (@amazon-dax-sdk/client-dax) through a list of operations.
//
// usage: node client.js --endpoint dax://127.0.0.1:PORT --region R [--admin URL]
//                       [--request-timeout MS] [--retries N] < ops.json
// Same ops and output as client.py: per op {"ok": true, "output": ...} or
// {"ok": false, "code", "class", "message"}. With daxs, NODE_EXTRA_CA_CERTS names the CA.
'use strict';
const { Dax } = require('@amazon-dax-sdk/client-dax');
const { DynamoDB } = require('@aws-sdk/client-dynamodb');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

function plain(v) {
  if (v instanceof Uint8Array) return Buffer.from(v).toString('base64');
  if (Array.isArray(v)) return v.map(plain);
  if (v instanceof Set) return [...v].map(plain);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) if (k !== '$metadata' && x !== undefined) o[k] = plain(x);
    return o;
  }
  return v;
}

function decodeB64(v) {
  if (Array.isArray(v)) return v.map(decodeB64);
  if (v && typeof v === 'object') {
    const o = {};
    for (const [k, x] of Object.entries(v)) {
      if (k === 'B' && typeof x === 'string') o[k] = Buffer.from(x, 'base64');
      else if (k === 'BS' && Array.isArray(x)) o[k] = x.map((i) => Buffer.from(i, 'base64'));
      else o[k] = decodeB64(x);
    }
    return o;
  }
  return v;
}

async function main() {
  const chunks = [];
  for await (const c of process.stdin) chunks.push(c);
  const ops = JSON.parse(Buffer.concat(chunks).toString());
  const region = arg('--region', 'us-east-1');
  const credentials = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID,
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY,
  };
  if (process.env.AWS_SESSION_TOKEN) credentials.sessionToken = process.env.AWS_SESSION_TOKEN;
  const config = { endpoints: [arg('--endpoint')], region, credentials };
  if (arg('--request-timeout')) config.requestTimeout = Number(arg('--request-timeout'));
  if (arg('--retries')) config.maxRetries = Number(arg('--retries'));
  const dax = new Dax(config);
  const adminUrl = arg('--admin');
  const admin = adminUrl ? new DynamoDB({ endpoint: adminUrl, region, credentials }) : null;
  const results = [];
  for (const op of ops) {
    const name = op.op;
    const method = name[0].toLowerCase() + name.slice(1);
    try {
      let out;
      if (name === 'Sleep') {
        await new Promise((r) => setTimeout(r, op.seconds * 1000));
        out = {};
      } else if (op.admin) {
        out = await admin[method](op.params || {});
        if (name === 'CreateTable') {
          for (;;) {
            const d = await admin.describeTable({ TableName: op.params.TableName });
            if (d.Table.TableStatus === 'ACTIVE') break;
            await new Promise((r) => setTimeout(r, 100));
          }
        }
      } else {
        out = await dax[method](decodeB64(op.params || {}));
      }
      results.push({ ok: true, output: plain(out) });
    } catch (e) {
      results.push({
        ok: false,
        code: e.code || e.name,
        class: e.constructor ? e.constructor.name : typeof e,
        message: String(e.message || e),
        retryable: e.retryable,
        cancellationReasons: plain(e.CancellationReasons || e.cancellationReasons),
      });
    }
  }
  try { dax.shutdown(); } catch (_) { /* already closed */ }
  process.stdout.write(JSON.stringify(results) + '\n');
  process.exit(0);
}

main().catch((e) => { process.stderr.write(`client.js failed: ${e.stack || e}\n`); process.exit(1); });
