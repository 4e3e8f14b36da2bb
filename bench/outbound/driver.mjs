// SPDX-License-Identifier: AGPL-3.0-or-later
// Sends pre-signed Twilio voice webhooks (bench/webhook/gen.mjs's file) at RATE per second for
// SECONDS to URL: each is a new call, so each makes one call.started event for the outbox.
// Prints "SENT n ok m" at the end. Usage: node driver.mjs URL FILE RATE SECONDS
import { readFileSync } from 'node:fs';
import { Agent, request } from 'node:http';

const [url, file, rateStr, secStr] = process.argv.slice(2);
const lines = readFileSync(file, 'utf8').split('\n').filter(Boolean);
const rate = Number(rateStr);
const until = Date.now() + Number(secStr) * 1000;
const u = new URL(url);
const agent = new Agent({ keepAlive: true, maxSockets: 16 });
let sent = 0;
let ok = 0;
let i = 0;

function post(line) {
  const tab = line.indexOf('\t');
  const body = line.slice(tab + 1);
  const req = request({ host: u.hostname, port: u.port, path: u.pathname, method: 'POST', agent,
    headers: { 'Content-Type': 'application/x-www-form-urlencoded', 'Content-Length': Buffer.byteLength(body),
      'X-Twilio-Signature': line.slice(0, tab) } }, (res) => {
    res.resume();
    if (res.statusCode === 200) ok++;
  });
  req.on('error', () => {});
  req.end(body);
  sent++;
}

const t0 = Date.now();
const timer = setInterval(() => {
  const due = Math.floor(((Date.now() - t0) / 1000) * rate);
  while (sent < due && i < lines.length) post(lines[i++]);
  if (Date.now() >= until || i >= lines.length) {
    clearInterval(timer);
    setTimeout(() => { console.log(`SENT ${sent} ok ${ok}`); agent.destroy(); }, 500);
  }
}, 10);
