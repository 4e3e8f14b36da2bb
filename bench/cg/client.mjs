// SPDX-License-Identifier: AGPL-3.0-or-later
// Sends a fixed number of requests over C keep-alive connections and waits for every answer
// (bench/cg/run.sh counts instructions per request with it). Exits 1 if any answer is not 2xx.
// Usage: node client.mjs URL C FILE FIRST N   FILE: one request a line, "path\tHEADERS_JSON\tbody",
// lines FIRST..FIRST+N-1 are sent (each once).
import http from 'node:http';
import { readFileSync } from 'node:fs';

const [base, cStr, file, firstStr, nStr] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const first = Number(firstStr);
const n = Number(nStr);
if (first + n > lines.length) {
  console.error(`client.mjs: ${file} has ${lines.length} requests, ${first + n} needed`);
  process.exit(2);
}
const agent = new http.Agent({ keepAlive: true, maxSockets: Number(cStr) });
let next = first;
let bad = 0;
function one() {
  if (next >= first + n) return Promise.resolve();
  const [path, headers, body] = lines[next++].split('\t');
  return new Promise((resolve, reject) => {
    const req = http.request(base + path, { method: 'POST', agent, headers: JSON.parse(headers) }, (res) => {
      if (res.statusCode >= 300) bad++;
      res.resume();
      res.on('end', resolve);
    });
    req.on('error', reject);
    req.end(body);
  }).then(one);
}
await Promise.all(Array.from({ length: Number(cStr) }, one));
agent.destroy();
if (bad) {
  console.error(`client.mjs: ${bad} answers not 2xx`);
  process.exit(1);
}
