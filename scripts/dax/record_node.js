#!/usr/bin/env node
// Drive the official Node DAX client (@amazon-dax-sdk/client-dax 3.1.0) through the call matrix.
//
//   node record_node.js --ports PORTS.json --calls CALLS.json --out RESULTS.jsonl [--only id,id]
//
// The client is loaded from $XACCT_DAX_NODE_DIR (default: <repo>/.tools/dax/node, or
// $XACCT_TOOLS_HOME/dax/node), where setup.sh installed it from scripts/dax/node/package-lock.json.
// For each call: control "begin <label>", the call, record result/error, control "end".
//
// Determinism patches (entropy and clock only; nothing that touches encoding):
//   * SigV4Gen.generateSigAndStringToSign -> signing time fixed at SIGNING_TIME;
//   * SessionVersion.create -> session ids from a counter-seeded sha256 instead of randomBytes;
//   * uuid.v4 (used for a missing ClientRequestToken) -> deterministic v4-shaped ids.
'use strict';

const fs = require('fs');
const net = require('net');
const path = require('path');
const crypto = require('crypto');
const readline = require('readline');
const {createRequire} = require('module');

const ROOT = path.resolve(__dirname, '..', '..');
const TOOLS = process.env.XACCT_TOOLS_HOME || path.join(ROOT, '.tools');
const NODE_DIR = process.env.XACCT_DAX_NODE_DIR || path.join(TOOLS, 'dax', 'node');
const req = createRequire(path.join(NODE_DIR, 'package.json'));
const daxPkgPath = req.resolve('@amazon-dax-sdk/client-dax/package.json');
const daxReq = createRequire(daxPkgPath);
const daxDir = path.dirname(daxPkgPath);

const CLIENT = 'node';
const CLIENT_VERSION = JSON.parse(fs.readFileSync(daxPkgPath, 'utf8')).version;
const ACCESS_KEY = 'AKIDEXAMPLE';
const SECRET_KEY = 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY';
const SESSION_TOKEN = 'FAKE-SESSION-TOKEN-EXAMPLE';
const REGION = 'us-east-1';
const SIGNING_TIME = new Date(Date.UTC(2026, 0, 2, 3, 4, 5));

// ---- determinism patches (must run before the client's modules capture the references)
const SigV4Gen = daxReq(path.join(daxDir, 'src', 'SigV4Gen.js'));
const origSig = SigV4Gen.generateSigAndStringToSign;
SigV4Gen.generateSigAndStringToSign = function(creds, endpoint, region, payload) {
  return origSig.call(SigV4Gen, creds, endpoint, region, payload, SIGNING_TIME);
};
const SessionVersion = daxReq(path.join(daxDir, 'src', 'SessionVersion.js'));
let sessionCounter = 0;
SessionVersion.create = function() {
  const v = new SessionVersion();
  v.session = crypto.createHash('sha256').update('node-session-' + (sessionCounter++)).digest().subarray(0, 16);
  return v;
};
const uuidPath = daxReq.resolve('uuid');
const uuidMod = daxReq('uuid');
let uuidCounter = 0;
const detUuid = {...uuidMod};
detUuid.v4 = function() {
  const h = crypto.createHash('sha256').update('node-uuid-' + (uuidCounter++)).digest('hex');
  return `${h.slice(0, 8)}-${h.slice(8, 12)}-4${h.slice(13, 16)}-8${h.slice(17, 20)}-${h.slice(20, 32)}`;
};
daxReq.cache[uuidPath].exports = detUuid;

const {Dax} = daxReq('@amazon-dax-sdk/client-dax');

// ---- helpers
function args() {
  const a = {};
  const argv = process.argv.slice(2);
  for(let i = 0; i < argv.length; i += 2) {
    a[argv[i].replace(/^--/, '')] = argv[i + 1];
  }
  return a;
}

class Control {
  constructor(port) {
    this.port = port;
  }
  async connect() {
    this.sock = net.createConnection({host: '127.0.0.1', port: this.port});
    await new Promise((res, rej) => {
      this.sock.once('connect', res);
      this.sock.once('error', rej);
    });
    this.lines = readline.createInterface({input: this.sock})[Symbol.asyncIterator]();
  }
  async call(obj) {
    this.sock.write(JSON.stringify(obj) + '\n');
    const {value} = await this.lines.next();
    const resp = JSON.parse(value);
    if(!resp.ok) {
      throw new Error('control: ' + value);
    }
    return resp;
  }
  begin(label, script) {
    return this.call({cmd: 'begin', label, script: script || {}});
  }
  end() {
    return this.call({cmd: 'end'});
  }
  close() {
    this.sock.end();
  }
}

// DynamoDB JSON (binary as base64) -> client params (binary as Buffer: client-dax 3.1.0 rejects a
// plain Uint8Array B value in keys with "unsupported type to encode for Binary: object")
function toClient(v) {
  if(Array.isArray(v)) {
    return v.map(toClient);
  }
  if(v && typeof v === 'object') {
    const keys = Object.keys(v);
    if(keys.length === 1 && keys[0] === 'B' && typeof v.B === 'string') {
      return {B: Buffer.from(v.B, 'base64')};
    }
    if(keys.length === 1 && keys[0] === 'BS' && Array.isArray(v.BS)) {
      return {BS: v.BS.map((x) => Buffer.from(x, 'base64'))};
    }
    const o = {};
    for(const k of keys) {
      o[k] = toClient(v[k]);
    }
    return o;
  }
  return v;
}

function toJson(v) {
  if(v instanceof Uint8Array) {
    return {$base64: Buffer.from(v).toString('base64')};
  }
  if(Array.isArray(v)) {
    return v.map(toJson);
  }
  if(v instanceof Set) {
    return [...v].map(toJson);
  }
  if(v && typeof v === 'object') {
    const o = {};
    for(const k of Object.keys(v)) {
      o[k] = toJson(v[k]);
    }
    return o;
  }
  if(typeof v === 'bigint') {
    return v.toString();
  }
  return v;
}

async function main() {
  const a = args();
  const ports = JSON.parse(fs.readFileSync(a.ports, 'utf8'));
  let calls = JSON.parse(fs.readFileSync(a.calls, 'utf8'));
  if(a.only) {
    const keep = new Set(a.only.split(','));
    calls = calls.filter((c) => keep.has(c.id));
  }
  const out = fs.openSync(a.out, 'w');
  const log = (rec) => {
    rec.client = CLIENT;
    rec.client_version = CLIENT_VERSION;
    const sorted = {};
    for(const k of Object.keys(rec).sort()) {
      sorted[k] = rec[k];
    }
    fs.writeSync(out, JSON.stringify(sorted) + '\n');
  };
  const ctl = new Control(ports.control_port);
  await ctl.connect();
  const endpoint = `dax://127.0.0.1:${ports.data_port}`;
  log({kind: 'meta', endpoint: 'dax://127.0.0.1:<port>', region: REGION, access_key_id: ACCESS_KEY,
    secret_access_key: SECRET_KEY, session_token: SESSION_TOKEN,
    signing_time: '20260102T030405Z', node: process.version,
    patches: ['SigV4Gen.generateSigAndStringToSign (SigV4 time fixed)',
      'SessionVersion.create (session ids = sha256("node-session-<n>")[0:16])',
      'uuid.v4 (ClientRequestToken when absent = sha256("node-uuid-<n>") shaped as a v4 UUID)']});

  const mkClient = (withToken) => new Dax({
    endpoints: [endpoint], region: REGION,
    credentials: withToken ?
      {accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY, sessionToken: SESSION_TOKEN} :
      {accessKeyId: ACCESS_KEY, secretAccessKey: SECRET_KEY},
  });

  let label = `${CLIENT}:client.construct`;
  await ctl.begin(label);
  let t0 = Date.now();
  const dax = mkClient(true);
  await ctl.end();
  log({kind: 'call', label, id: 'client.construct', outcome: 'ok', seconds: (Date.now() - t0) / 1000});

  let nOk = 0;
  let nErr = 0;
  for(const call of calls) {
    label = `${CLIENT}:${call.id}`;
    await ctl.begin(label, call.script);
    t0 = Date.now();
    const rec = {kind: 'call', label, id: call.id};
    try {
      const res = await dax[call.op](toClient(call.params));
      delete res.$metadata;
      rec.outcome = 'ok';
      rec.result = toJson(res);
      nOk++;
    } catch (e) {
      rec.outcome = 'error';
      rec.error_type = e.name || (e.constructor && e.constructor.name);
      rec.error = e.message;
      if(e.code !== undefined) {
        rec.error_code = e.code;
      }
      if(e.codeSeq) {
        rec.error_codes = e.codeSeq;
      }
      if(e.cancellationReasons) {
        rec.error_cancellation_reasons = toJson(e.cancellationReasons);
      }
      nErr++;
    }
    await ctl.end();
    rec.seconds = (Date.now() - t0) / 1000;
    log(rec);
  }
  dax.shutdown();

  label = `${CLIENT}:auth.no_token`;
  await ctl.begin(label);
  const dax2 = mkClient(false);
  try {
    const res = await dax2.getItem({TableName: 't_hS', Key: {pk: {S: 'k1'}}});
    delete res.$metadata;
    log({kind: 'call', label, id: 'auth.no_token', outcome: 'ok', result: toJson(res)});
  } finally {
    dax2.shutdown();
    await ctl.end();
  }
  ctl.close();
  fs.closeSync(out);
  process.stderr.write(`record_node: ${nOk} ok, ${nErr} errors, ${calls.length} calls\n`);
  // background timers (cluster refresh / health checks) may keep the loop alive
  setTimeout(() => process.exit(0), 200).unref();
}

main().catch((e) => {
  process.stderr.write('record_node failed: ' + (e && e.stack || e) + '\n');
  process.exit(1);
});
