// The PostgreSQL backend's statements against the Citus rule (docs/scaling.md "Distributed
// PostgreSQL"): every statement on account data filters by the account id, the distribution
// column, except the global lookups of ALLOW below. Reads every SQL statement of the backend:
// the string literals of src/store/store_pg*.c (adjacent literals and string macros joined) and
// the statements inside the functions of src/store/sql_pg/*.sql, and the schema those files
// (and the shared src/store/sql/ ones PostgreSQL uses) create. Run by ctest as store/citus-rule;
// `node tests/store/pg_statements.mjs [ROOT] --list` prints each statement and its verdict.
//
// A statement is on account data when it names (FROM, JOIN, UPDATE, INSERT INTO, DELETE FROM,
// USING) a table with an account_id column, or accounts itself. It filters by the account id
// when it compares account_id with a parameter ($n, or a p_account argument of a function),
// when it inserts a row with its account_id column, or (accounts only) compares accounts.id
// with a parameter. Tables holding account data without an account_id column yet (GAP_TABLES)
// are checked too: their statements must be listed in GAP with the reason; the test fails
// when a listed gap is gone (so the list only shrinks) and on any statement in neither list.
import { readFileSync, readdirSync } from 'node:fs';
import { join, resolve } from 'node:path';

const args = process.argv.slice(2);
const root = resolve(args.find((a) => !a.startsWith('--')) ?? new URL('../..', import.meta.url).pathname);
const list = args.includes('--list');
const store = join(root, 'src/store');

// ---- the global lookups (short, and each through a small index keyed for exactly that) ----
// Each: a name, a regex a statement matches, and why it has no account id.
const ALLOW = [
  ['number by its E.164 (a webhook\'s To)', /\bFROM numbers(?: n)? WHERE (?:n\.)?number = \$1\b/],
  ['pool by its fallback number (a webhook\'s To)', /\bFROM pools WHERE fallback_number = \$1\b/],
  ['call by provider id', /\bFROM calls WHERE provider = \$1 AND provider_call_id = \$2\b/],
  ['session by its external id (tracker cookie)', /\bFROM sessions WHERE ext_id = \$1\b/],
  ['account by its external id or row id', /\bFROM accounts(?: a)? WHERE (?:a\.)?(?:ext_id|id) = \$1\b/],
  ['key by hash', /\bapi_keys\b[\s\S]*\bkey_hash = \$1\b/],
  ['origin known to any account (CORS preflight)', /\bFROM account_origins WHERE origin = \$1\b/],
  ['provider credentials by provider and AccountSid (a webhook\'s signature)',
    /\bFROM account_providers WHERE provider = \$1\b/],
  ['login session by token hash', /\bapp_sessions\b[\s\S]*\btoken_hash = \$1\b/],
  ['a routed call by provider id (a routing callback)',
    /\bFROM call_routes WHERE provider = \$1(?:::text)? AND call_sid = \$2(?:::text)?$/],
  ['a new account (the insert makes its id, the distribution column)',
    /^INSERT INTO accounts\(ext_id, name, created_at\) VALUES \(\$1, \$2, \$3\) RETURNING id$/],
  ['the Google Ads scheduled-import feed by its id (its own credential)',
    /\bFROM export_feeds WHERE ext_id = \$1(?:::text)?$/],
];

// Statements over every account by design, off the visit and call paths (the operator's
// statistics and account list, expiry sweeps): multi-shard queries in Citus, not lookups.
const MULTI = [
  ['store statistics (opendni stats)', /^SELECT COUNT\(\*\) FROM \w+$/],
  ['the account list (operator)', /^SELECT id, ext_id, name, settings FROM accounts ORDER BY id$/],
  ['expired login sessions sweep', /^DELETE FROM app_sessions WHERE last_seen_at < \$1 OR expires_at <= \$2$/],
  ['a user\'s login sessions (users are global)', /^DELETE FROM app_sessions WHERE user_id = \$1$/],
  ['the operator\'s audit entries (no account)', /\bFROM audit_log WHERE account_id IS NULL\b/],
  ['the pools whose autoscale is on (the periodic number check, one node at a time)',
    /\bFROM pool_autoscale WHERE enabled <> 0 ORDER BY pool_id$/],
  ['the outbox claim: the due messages of every destination (the sender, under the claim lock)',
    /^WITH pick AS \(SELECT p\.id FROM destinations t CROSS JOIN LATERAL \(SELECT o\.id, o\.next_at FROM outbox o WHERE o\.destination_id = t\.id\b/],
];

// Account data with no account_id column yet, and the statements on them that filter by the row
// that belongs to one account instead (a session, pool, number or call id). Distributing them
// needs account_id added to the tables and passed down the store calls (docs/scaling.md).
const GAP_TABLES = new Set([]);

// ---- the schema ----
function sqlFiles(dir) {
  try { return readdirSync(dir).filter((f) => /^\d{4}_.*\.sql$/.test(f)).sort(); } catch { return []; }
}
const shared = sqlFiles(join(store, 'sql'));
const pgOwn = sqlFiles(join(store, 'sql_pg'));
const pgVersions = new Set(pgOwn.map((f) => f.slice(0, 4)));
const schemaFiles = [
  ...pgOwn.map((f) => join(store, 'sql_pg', f)),
  ...shared.filter((f) => !pgVersions.has(f.slice(0, 4))).map((f) => join(store, 'sql', f)),
];
const tables = new Map(); // name -> Set of columns
for (const f of schemaFiles) {
  const text = readFileSync(f, 'utf8').replace(/--[^\n]*/g, '');
  for (const m of text.matchAll(/CREATE TABLE (?:IF NOT EXISTS )?(\w+)\s*\(([\s\S]*?)\n\)/g)) {
    const cols = new Set();
    for (const line of m[2].split(/,\s*\n/)) {
      const c = line.trim().match(/^(\w+)\s/);
      if (c && !/^(PRIMARY|UNIQUE|CHECK|FOREIGN|CONSTRAINT)$/i.test(c[1])) cols.add(c[1]);
    }
    tables.set(m[1], cols);
  }
  for (const m of text.matchAll(/ALTER TABLE (\w+)([^;]*);/g))
    for (const c of m[2].matchAll(/ADD COLUMN (?:IF NOT EXISTS )?(\w+)/g)) tables.get(m[1])?.add(c[1]);
}
const accountTables = new Set([...tables].filter(([n, c]) => n === 'accounts' || c.has('account_id')).map(([n]) => n));

// ---- the statements ----
const statements = []; // {where, sql}
function cString(lit) {
  return lit.slice(1, -1).replace(/\\n/g, '\n').replace(/\\t/g, '\t').replace(/\\(.)/g, '$1');
}
for (const f of readdirSync(store).filter((f) => /^store_pg.*\.c$/.test(f)).sort()) {
  const src = readFileSync(join(store, f), 'utf8').replace(/\/\*[\s\S]*?\*\//g, (c) => c.replace(/[^\n]/g, ' '));
  // string macros: #define NAME "..." "..." (continued lines)
  const macros = new Map();
  for (const m of src.matchAll(/^#define (\w+)[ \t]+((?:[^\n]*\\\n)*[^\n]*)/gm)) {
    const body = m[2].replace(/\\\n/g, ' ').trim();
    if (/^("(?:[^"\\]|\\.)*"\s*|\w+\s*)+$/.test(body) && body.startsWith('"')) macros.set(m[1], body);
  }
  const expand = (text, depth = 0) => text.replace(/\b([A-Z][A-Z0-9_]+)\b/g, (w) =>
    macros.has(w) && depth < 5 ? expand(macros.get(w), depth + 1) : w);
  const code = src.replace(/^#define(?:[^\n\\]|\\[^\n])*(?:\\\n(?:[^\n\\]|\\[^\n])*)*/gm,
    (d) => d.replace(/[^\n]/g, ' '));
  // runs of adjacent string literals and string macros
  const tok = /"(?:[^"\\\n]|\\.)*"|\b[A-Z][A-Z0-9_]+\b/g;
  let run = [], last = -1, line = 0;
  const flush = () => {
    if (run.length) {
      const sql = run.map((t) => t.startsWith('"') ? cString(t) : null).join('');
      if (/^\s*(SELECT|INSERT|UPDATE|DELETE|WITH) /.test(sql)) statements.push({ where: `${f}:${line}`, sql });
    }
    run = [];
  };
  for (const m of code.matchAll(tok)) {
    const between = last < 0 ? '' : code.slice(last, m.index);
    if (last >= 0 && !/^\s*$/.test(between)) flush();
    if (!run.length) line = code.slice(0, m.index).split('\n').length;
    if (m[0].startsWith('"')) run.push(m[0]);
    else if (macros.has(m[0])) for (const t of expand(m[0]).match(/"(?:[^"\\]|\\.)*"/g) ?? []) run.push(t);
    else { flush(); last = -1; continue; }
    last = m.index + m[0].length;
  }
  flush();
}
const functions = new Map(); // name -> {f, body}: the latest migration's definition
for (const f of pgOwn) {
  const text = readFileSync(join(store, 'sql_pg', f), 'utf8').replace(/--[^\n]*/g, '');
  for (const m of text.matchAll(/CREATE (?:OR REPLACE )?FUNCTION (\w+)[\s\S]*?\$\$([\s\S]*?)\$\$/g))
    functions.set(m[1], { f, body: m[2] });
}
for (const [name, { f, body }] of functions) {
  for (const part of body.split(';')) {
    const s = part.replace(/^[\s\S]*?\b(?=(WITH|SELECT|INSERT|UPDATE|DELETE)\b)/, '');
    if (/^(WITH|SELECT|INSERT|UPDATE|DELETE)\b/.test(s) && /\b(FROM|INTO|UPDATE)\b/.test(s))
      statements.push({ where: `${f}:${name}`, sql: s.trim() });
  }
}

// ---- the rule ----
function named(sql) {
  const out = new Set();
  for (const m of sql.matchAll(/\b(?:FROM|JOIN|UPDATE|INTO|USING|TABLE)\s+(?:ONLY\s+)?(\w+)/gi)) out.add(m[1]);
  return [...out].filter((t) => tables.has(t));
}
function filtersAccount(sql, touched) {
  if (/\b(?:\w+\.)?account_id\s*(?:=|IN)\s*\(?\s*(?:\$\d+|p_account\b)/i.test(sql)) return true;
  if (/\$\d+(?:::bigint)?\s*=\s*(?:\w+\.)?account_id\b/i.test(sql)) return true;
  if (/\bINSERT INTO \w+(?: AS \w+)?\s*\([^)]*\baccount_id\b/i.test(sql)) return true;
  if (touched.includes('accounts') && /\b(?:a\.)?id\s*=\s*\$\d+/.test(sql) && /\b(?:FROM|UPDATE) accounts\b/.test(sql)) return true;
  return false;
}

// [{why, match}]: match is the statement, whitespace folded to single spaces.
const GAP = JSON.parse(readFileSync(new URL('./pg_statements_gap.json', import.meta.url), 'utf8'));
const gapUsed = new Set();
const failures = [];
for (const st of statements) {
  const flat = st.sql.replace(/\s+/g, ' ');
  const touched = named(flat);
  const acct = touched.filter((t) => accountTables.has(t));
  const gap = touched.filter((t) => GAP_TABLES.has(t) && !accountTables.has(t));
  let verdict = 'global';
  if (acct.length && filtersAccount(flat, touched)) verdict = 'ok';
  else if (acct.length || gap.length) {
    const allow = ALLOW.find(([, re]) => re.test(flat));
    const multi = MULTI.find(([, re]) => re.test(flat));
    const g = GAP.find((e) => flat === e.match);
    if (allow && !gap.length) verdict = `allow: ${allow[0]}`;
    else if (multi && !gap.length) verdict = `all accounts: ${multi[0]}`;
    else if (g) { verdict = `gap: ${g.why}`; gapUsed.add(g.match); }
    else { verdict = 'VIOLATION'; failures.push(`${st.where}: ${flat}`); }
  }
  if (list) console.log(`${verdict}\t${st.where}\t${flat}`);
}
const stale = GAP.filter((e) => !gapUsed.has(e.match));
if (statements.length < 50) failures.push(`only ${statements.length} statements found: the extraction is broken`);
for (const e of stale) failures.push(`gap entry no longer matches any statement (remove it): ${e.match}`);
if (failures.length) {
  console.error(`${failures.length} statement(s) break the Citus rule (every statement on account data filters by account_id; ALLOW in ${new URL(import.meta.url).pathname}):`);
  for (const f of failures) console.error(`  ${f}`);
  process.exit(1);
}
console.log(`${statements.length} statements: every one on account data filters by account_id, is one of ${ALLOW.length} global lookups, or is one of ${GAP.length} listed gaps`);
