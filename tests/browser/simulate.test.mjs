// SPDX-License-Identifier: AGPL-3.0-or-later
// `opendni simulate --svg` writes a chart that a browser renders: two accuracy curves per policy
// (the server's old one and the new one beside it, as the table compares them; one policy with
// --policy), the target line and the rules of thumb. The suite screenshots it into docs/screenshots/pool-sizing.png.
import { test } from 'node:test';
import assert from 'node:assert/strict';
import fs, { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { pathToFileURL } from 'node:url';
import { cli, SHOTS } from '../helpers/server.mjs';
import { SRC, launch } from './support.mjs';

test('the simulator chart renders in Chromium with both curves, the target and the rules of thumb', async (t) => {
  const dir = mkdtempSync(path.join(tmpdir(), 'opendni-svg-'));
  t.after(() => rmSync(dir, { recursive: true, force: true }));
  const svg = path.join(dir, 'sizing.svg');
  const r = cli(['simulate', '--trace', path.join(SRC, 'tests/data/traces/synthetic.csv'),
    '--pool-size', '10..120:10', '--target-accuracy', '0.99', '--svg', svg]);
  assert.equal(r.status, 0, r.stderr);
  const browser = await launch();
  t.after(() => browser.close());
  const page = await browser.newPage({ viewport: { width: 840, height: 610 } });
  const errors = [];
  page.on('console', (m) => { if (m.type() === 'error') errors.push(m.text()); });
  await page.goto(pathToFileURL(svg).href);
  const info = await page.evaluate(() => {
    const root = document.documentElement;
    const box = root.getBoundingClientRect();
    const curves = [...document.querySelectorAll('polyline')].map((p) => p.points.numberOfItems);
    const text = [...document.querySelectorAll('text')].map((x) => x.textContent).join(' | ');
    return { tag: root.tagName, width: box.width, height: box.height, curves, text };
  });
  assert.equal(info.tag, 'svg');
  assert.ok(info.width > 400 && info.height > 300, JSON.stringify(info));
  assert.equal(info.curves.length, 4, 'overall and within-30-min accuracy, for each policy');
  for (const n of info.curves) assert.equal(n, 12, 'one point per pool size of the sweep');
  assert.match(info.text, /99(\.0)? ?%/, 'the target line is labelled');
  assert.match(info.text, /concurrent/i, 'the rules of thumb are marked');
  assert.deepEqual(errors, []);
  const one = path.join(dir, 'one.svg'); // one policy: its two curves only
  const r1 = cli(['simulate', '--trace', path.join(SRC, 'tests/data/traces/synthetic.csv'),
    '--pool-size', '10..120:10', '--policy', 'new', '--svg', one]);
  assert.equal(r1.status, 0, r1.stderr);
  assert.equal((fs.readFileSync(one, 'utf8').match(/<polyline/g) || []).length, 2);
  fs.mkdirSync(SHOTS, { recursive: true });
  await page.screenshot({ path: path.join(SHOTS, 'pool-sizing.png') });
});
