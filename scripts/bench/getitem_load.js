// GetItem load with the official Node DAX client (@amazon-dax-sdk/client-dax): the Node side of
// scripts/bench/dax-clients.sh. N async loops share one client (one event loop: "in flight" =
// concurrent promises). CPU = process.cpuUsage() (user + system of the whole process) over the
// measured window. Prints one JSON object.
//
// usage: NODE_PATH=.tools/dax/node/node_modules node getitem_load.js --endpoint dax://H:P
//          [--region R] [--table T] [--pk P] [--sk N] [--in-flight N] [--seconds S]
//          [--warmup-seconds S] [--count N]
'use strict';
const { Dax } = require('@amazon-dax-sdk/client-dax');

function arg(name, dflt) {
  const i = process.argv.indexOf(name);
  return i >= 0 ? process.argv[i + 1] : dflt;
}

async function main() {
  const region = arg('--region', 'us-east-1');
  const table = arg('--table', 'orders');
  const inFlight = Number(arg('--in-flight', '1'));
  const seconds = Number(arg('--seconds', '10'));
  const warmup = Number(arg('--warmup-seconds', '2'));
  const limit = Number(arg('--count', 'Infinity'));
  const credentials = {
    accessKeyId: process.env.AWS_ACCESS_KEY_ID || 'AKIDBENCH',
    secretAccessKey: process.env.AWS_SECRET_ACCESS_KEY || 'secret',
  };
  const dax = new Dax({ endpoints: [arg('--endpoint')], region, credentials });
  const params = {
    TableName: table,
    Key: { pk: { S: arg('--pk', 'bench#dax-clients') }, sk: { N: arg('--sk', '1') } },
  };
  const first = await dax.getItem(params);
  const attributes = first.Item ? Object.keys(first.Item).length : 0;
  let measuring = false;
  let stop = false;
  let counted = 0;
  let errors = 0;
  const lat = [];
  async function loop() {
    while (!stop) {
      const t = process.hrtime.bigint();
      let ok = false;
      try {
        const out = await dax.getItem(params);
        ok = !!out.Item;
      } catch (e) {
        ok = false;
      }
      const ns = Number(process.hrtime.bigint() - t);
      if (!measuring) continue;
      if (ok) lat.push(ns);
      else errors++;
      if (++counted >= limit) stop = true;
    }
  }
  const loops = [];
  for (let i = 0; i < inFlight; i++) loops.push(loop());
  await new Promise((r) => setTimeout(r, warmup * 1000));
  const t0 = process.hrtime.bigint();
  const cpu0 = process.cpuUsage();
  measuring = true;
  const deadline = Date.now() + seconds * 1000;
  while (!stop && Date.now() < deadline) await new Promise((r) => setTimeout(r, 5));
  stop = true;
  measuring = false;
  const wall = Number(process.hrtime.bigint() - t0) / 1e9;
  const c = process.cpuUsage(cpu0);
  const cpu = (c.user + c.system) / 1e6;
  await Promise.all(loops);
  lat.sort((a, b) => a - b);
  const pct = (p) => (lat.length ? lat[Math.min(lat.length, Math.max(1, Math.ceil(lat.length * p))) - 1] / 1000 : 0);
  console.log(JSON.stringify({
    client: 'node-dax', in_flight: inFlight, attributes, requests: lat.length, errors,
    wall_s: wall, cpu_s: cpu, cpu_user_s: c.user / 1e6, cpu_sys_s: c.system / 1e6, req_per_s: lat.length / wall,
    req_per_cpu_s: cpu > 0 ? lat.length / cpu : 0,
    p50_us: pct(0.5), p99_us: pct(0.99), p999_us: pct(0.999),
  }));
  try { dax.shutdown ? dax.shutdown() : dax.destroy && dax.destroy(); } catch (e) { /* ignore */ }
  process.exit(0);
}

main().catch((e) => { console.error(e); process.exit(1); });
