// SPDX-License-Identifier: AGPL-3.0-or-later
// Writes N pre-signed Twilio voice webhooks for bench/webhook/webhook.lua, one per line:
// "<X-Twilio-Signature>\t<form body>". Each has a unique CallSid (a run prefix + the index) and a
// unique caller, so every request is a new call (no retry shortcut, no repeat-caller pile-up).
// Signatures follow INTERFACES.md §2.1: HMAC-SHA1(token, URL + sorted name+value), base64.
// Usage: node gen.mjs URL TOKEN NUMBERS_FILE N OUT   (URL = public URL + webhook path)
import { createHmac, randomBytes } from 'node:crypto';
import { readFileSync, createWriteStream } from 'node:fs';

const [url, token, numbersFile, nStr, out] = process.argv.slice(2);
if (!out) {
  console.error('usage: node gen.mjs URL TOKEN NUMBERS_FILE N OUT');
  process.exit(2);
}
const numbers = readFileSync(numbersFile, 'utf8').split('\n').filter(Boolean);
if (numbers.length === 0) {
  console.error('gen.mjs: no numbers to call');
  process.exit(1);
}
const n = Number(nStr);
const run = randomBytes(4).toString('hex');
const w = createWriteStream(out);
for (let i = 0; i < n; i++) {
  const p = {
    AccountSid: 'AC' + '0'.repeat(31) + '1',
    ApiVersion: '2010-04-01',
    CallSid: 'CA' + run + i.toString(16).padStart(24, '0'),
    CallStatus: 'ringing',
    Direction: 'inbound',
    From: '+1415' + String(2000000 + (i % 7000000)),
    To: numbers[i % numbers.length],
  };
  let data = url;
  for (const k of Object.keys(p).sort()) data += k + p[k];
  const sig = createHmac('sha1', token).update(data, 'utf8').digest('base64');
  const body = new URLSearchParams(p).toString();
  if (!w.write(`${sig}\t${body}\n`)) await new Promise((r) => w.once('drain', r));
}
w.end();
