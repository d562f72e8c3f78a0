// Numbers and times as people read them. Times are local, with their zone; UTC shows on hover.
import { h } from './dom.js';

const pad = (n, w = 2) => String(n).padStart(w, '0');
const ZONE = new Intl.DateTimeFormat(undefined, { timeZoneName: 'short' });

/** The local zone's short name at that instant: CET, GMT+1, UTC. */
function zoneOf(d) {
  return ZONE.formatToParts(d).find((p) => p.type === 'timeZoneName')?.value ?? '';
}

/** 2026-11-27 10:03:04 CET (local time and zone). */
export function dateTime(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())} ${zoneOf(d)}`;
}

/** 2026-11-27 09:03:04 UTC. */
function utc(iso) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return `${d.toISOString().slice(0, 19).replace('T', ' ')} UTC`;
}

/** A <time> showing `text` (default the local date and time with its zone), with UTC on hover. */
export function time(iso, text = dateTime(iso)) {
  const d = new Date(iso);
  if (Number.isNaN(d.getTime())) return '';
  return h('time', { datetime: d.toISOString(), title: text === dateTime(iso) ? utc(iso) : `${dateTime(iso)} (${utc(iso)})` }, text);
}

/** 10:03:04.123 (local time). */
export function clock(ts) {
  const d = new Date(ts);
  return `${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
}

/** "3 min ago". */
export function ago(iso, now = Date.now()) {
  const s = Math.round((now - Date.parse(iso)) / 1000);
  if (!Number.isFinite(s)) return '';
  if (s < 60) return `${Math.max(s, 0)} s ago`;
  if (s < 3600) return `${Math.floor(s / 60)} min ago`;
  if (s < 86_400) return `${Math.floor(s / 3600)} h ago`;
  return `${Math.floor(s / 86_400)} d ago`;
}

/** 1.5 s, 3 min, 2 h, 4 d. */
export function duration(ms) {
  if (ms < 1000) return `${ms} ms`;
  if (ms < 60_000) return `${Math.round(ms / 100) / 10} s`;
  if (ms < 3_600_000) return `${Math.round(ms / 6000) / 10} min`;
  if (ms < 86_400_000) return `${Math.round(ms / 360_000) / 10} h`;
  return `${Math.round(ms / 8_640_000) / 10} d`;
}

/** 32 MiB; 0 reads as unlimited. */
export function bytes(n) {
  if (!n || n <= 0) return 'unlimited';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  let v = n;
  while (v >= 1024 && i < units.length - 1) {
    v /= 1024;
    i += 1;
  }
  return `${Math.round(v * 10) / 10} ${units[i]}`;
}
