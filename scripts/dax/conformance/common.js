// Shared by run_node.js and load_node.js: loading the installed clients, argument parsing,
// DynamoDB JSON <-> client values, TLS trust.
'use strict';

const fs = require('fs');
const path = require('path');
const childProcess = require('child_process');
const {createRequire} = require('module');

const ROOT = path.resolve(__dirname, '..', '..', '..');
const TOOLS = process.env.XACCT_TOOLS_HOME || path.join(ROOT, '.tools');
const NODE_DIR = process.env.XACCT_DAX_NODE_DIR || path.join(TOOLS, 'dax', 'node');

// The clients live in $XACCT_TOOLS_HOME/dax/node/node_modules (scripts/dax/setup.sh), not beside
// this file: resolve them from there.
const toolsRequire = createRequire(path.join(NODE_DIR, 'package.json'));

function loadDax() {
  shimLocalhostDns();
  return toolsRequire('@amazon-dax-sdk/client-dax').Dax;
}

function loadSdk() {
  return toolsRequire('@aws-sdk/client-dynamodb');
}

// `--name value` pairs; `required` names must be present.
function parseArgs(argv, required) {
  const a = {};
  for(let i = 0; i < argv.length; i++) {
    const k = argv[i];
    if(!k.startsWith('--') || i + 1 >= argv.length) {
      throw new Error(`bad argument ${JSON.stringify(k)} (expected --name value pairs)`);
    }
    a[k.slice(2)] = argv[++i];
  }
  for(const r of required) {
    if(a[r] === undefined) {
      throw new Error(`missing --${r}`);
    }
  }
  return a;
}

// Node reads NODE_EXTRA_CA_CERTS only at start: when --ca-file names a bundle that is not already in
// force, run this same script again with it set, pass its exit code through, and return true.
function reexecWithCa(caFile) {
  if(!caFile) {
    return false;
  }
  const abs = path.resolve(caFile);
  if(process.env.NODE_EXTRA_CA_CERTS === abs) {
    return false;
  }
  fs.accessSync(abs, fs.constants.R_OK);
  const r = childProcess.spawnSync(process.execPath, process.argv.slice(1), {
    stdio: 'inherit',
    env: {...process.env, NODE_EXTRA_CA_CERTS: abs},
  });
  if(r.error) {
    throw r.error;
  }
  process.exitCode = r.status === null ? 1 : r.status;
  return true;
}

// client-dax resolves a seed host name with dns.resolve (DNS queries only; /etc/hosts is never read),
// so `daxs://localhost:PORT` (the name a test certificate is made for) fails where no DNS server
// answers for localhost, as in CI sandboxes. Answer A queries for localhost the way the OS does
// (getaddrinfo, via dns.lookup), and AAAA with ENODATA: our gateway listens on 127.0.0.1 only.
// Every other name goes to DNS as before.
function shimLocalhostDns() {
  const dns = require('dns');
  const original = dns.resolve;
  dns.resolve = function(host, rrtype, callback) {
    if(host !== 'localhost' || typeof callback !== 'function') {
      return original.apply(this, arguments);
    }
    const noData = () => Object.assign(new Error(`no ${rrtype} data for localhost`), {code: 'ENODATA'});
    if(rrtype !== 'A') {
      return process.nextTick(() => callback(noData()));
    }
    return dns.lookup(host, {family: 4, all: true}, (err, addrs) => {
      if(err || addrs.length === 0) {
        return callback(noData());
      }
      return callback(null, addrs.map((a) => a.address));
    });
  };
}

// DynamoDB JSON (binary as base64) -> client params (binary as Buffer: client-dax 3.1.0 rejects a
// plain Uint8Array B value in keys).
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

function cmp(a, b) {
  return a < b ? -1 : a > b ? 1 : 0;
}

// Client output -> DynamoDB JSON: binary as base64, sets sorted.
function toJson(v) {
  if(v instanceof Uint8Array) {
    return Buffer.from(v).toString('base64');
  }
  if(Array.isArray(v)) {
    return v.map(toJson);
  }
  if(v instanceof Set) {
    return [...v].map(toJson);
  }
  if(v && typeof v === 'object') {
    const keys = Object.keys(v);
    if(keys.length === 1 && ['SS', 'NS', 'BS'].includes(keys[0]) &&
      (Array.isArray(v[keys[0]]) || v[keys[0]] instanceof Set)) {
      return {[keys[0]]: [...v[keys[0]]].map((x) => String(toJson(x))).sort(cmp)};
    }
    const o = {};
    for(const k of keys) {
      if(v[k] !== undefined) {
        o[k] = toJson(v[k]);
      }
    }
    return o;
  }
  if(typeof v === 'bigint') {
    return v.toString();
  }
  return v;
}

function isEmpty(v) {
  return v === undefined || v === null || (Array.isArray(v) && v.length === 0) ||
    (typeof v === 'object' && !Array.isArray(v) && Object.keys(v).length === 0);
}

module.exports = {ROOT, NODE_DIR, loadDax, loadSdk, parseArgs, reexecWithCa, toClient, toJson, isEmpty, cmp};
