// SPDX-License-Identifier: AGPL-3.0-or-later
// Numbers, times and phone numbers as people read them, in the browser's locale and time zone.
// Everything returned is plain text: the views put it in text nodes, never in HTML.

const dateTime = new Intl.DateTimeFormat(undefined, { dateStyle: 'medium', timeStyle: 'short' });
const timeOnly = new Intl.DateTimeFormat(undefined, { timeStyle: 'short' });
const count = new Intl.NumberFormat();
const pct = new Intl.NumberFormat(undefined, { style: 'percent', maximumFractionDigits: 0 });

export const fmtCount = (n) => count.format(n);
export const fmtPct = (x) => (x == null ? '—' : pct.format(x));

/** A time: only the hour for today, else the date too. */
export function fmtTime(iso) {
  if (!iso) return '—';
  const d = new Date(iso);
  return d.toDateString() === new Date().toDateString() ? timeOnly.format(d) : dateTime.format(d);
}

export const fmtDateTime = (iso) => (iso ? dateTime.format(new Date(iso)) : '—');

/** 95 -> "1:35". */
export function fmtDuration(s) {
  if (s == null || s < 0) return '—';
  const m = Math.floor(s / 60);
  return `${m}:${String(s % 60).padStart(2, '0')}`;
}

/** +15555550123 -> "(555) 555-0123"; others as given. */
export function fmtPhone(e164) {
  if (!e164) return '—';
  const m = /^\+1(\d{3})(\d{3})(\d{4})$/.exec(e164);
  return m ? `(${m[1]}) ${m[2]}-${m[3]}` : e164;
}

/** A caller as tables show it: only the last digits. */
export function maskPhone(e164) {
  if (!e164) return '—';
  const digits = e164.replace(/\D/g, '');
  if (digits.length < 4) return '•••';
  return '••• ••• ' + digits.slice(-4);
}

/** "google / cpc" from a source object; "—" when nothing is known. */
export function sourceMedium(src) {
  if (!src || (!src.source && !src.medium)) return '—';
  return [src.source || '—', src.medium || '—'].join(' / ');
}

export const orDash = (v) => (v == null || v === '' ? '—' : String(v));

/** Midnight today, and n days before it, in the browser's zone (ms). */
export function startOfDay(daysBack = 0) {
  const d = new Date();
  d.setHours(0, 0, 0, 0);
  d.setDate(d.getDate() - daysBack);
  return d.getTime();
}

const money = new Intl.NumberFormat(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });
/** A conversion value (the account's currency is not known here: the amount only). */
export const fmtMoney = (x) => (x == null ? '—' : money.format(x));
