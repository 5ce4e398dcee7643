#!/usr/bin/env node
// Part of selftest_dax.py: the node-dax path of run_node.js (call + errorResult) against the
// scripted responder (scripts/dax/responder.py). Prints the results of selftest_dax.py's CASES as
// one JSON list on stdout.
//
//   node selftest_node.js --ports PORTS.json --cases CASES.json
'use strict';

const fs = require('fs');
const net = require('net');
const readline = require('readline');
const c = require('./common');
const rn = require('./run_node');

async function main() {
  const a = c.parseArgs(process.argv.slice(2), ['ports', 'cases']);
  const ports = JSON.parse(fs.readFileSync(a.ports, 'utf8'));
  const cases = JSON.parse(fs.readFileSync(a.cases, 'utf8'));
  const sock = net.createConnection({host: '127.0.0.1', port: ports.control_port});
  await new Promise((res, rej) => {
    sock.once('connect', res);
    sock.once('error', rej);
  });
  const lines = readline.createInterface({input: sock})[Symbol.asyncIterator]();
  const ctl = async(o) => {
    sock.write(JSON.stringify(o) + '\n');
    const resp = JSON.parse((await lines.next()).value);
    if(!resp.ok) {
      throw new Error('control: ' + JSON.stringify(resp));
    }
  };
  const Dax = c.loadDax();
  const dax = new Dax({endpoints: [`dax://127.0.0.1:${ports.data_port}`], region: 'us-east-1'});
  const out = [];
  for(const k of cases) {
    await ctl({cmd: 'begin', label: `node:${k.id}`, script: k.script});
    try {
      out.push({id: k.id, outcome: 'ok', output: await rn.call(dax, k.op, k.params, false)});
    } catch (e) {
      out.push({id: k.id, ...rn.errorResult(e)});
    }
    await ctl({cmd: 'end'});
  }
  dax.shutdown();
  sock.end();
  process.stdout.write(JSON.stringify(out) + '\n', () => process.exit(0));
}

main().catch((e) => {
  process.stderr.write('selftest_node failed: ' + ((e && e.stack) || e) + '\n');
  process.exit(2);
});
