/** Formatting for the page: numbers, sizes, times, payloads as text, JSON or hex. */

/** 1234567 -> "1,234,567". */
export function count(n: number): string {
  return Math.round(n).toLocaleString('en');
}

/** Bytes in B, KiB, MiB or GiB. */
export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB'];
  let value = n;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(unit === 0 ? 0 : 1)} ${units[unit]}`;
}

/** Seconds as "3d 4h", "2h 5m", "4m 10s". */
export function duration(seconds: number): string {
  const d = Math.floor(seconds / 86400);
  const h = Math.floor((seconds % 86400) / 3600);
  const m = Math.floor((seconds % 3600) / 60);
  const s = Math.floor(seconds % 60);
  if (d > 0) return `${d}d ${h}h`;
  if (h > 0) return `${h}h ${m}m`;
  return `${m}m ${s}s`;
}

/** A time of the broker's clock (ms since the epoch) in the browser's local time. */
export function time(ms: number | null): string {
  return ms === null ? '' : new Date(ms).toLocaleString();
}

/** How a payload is shown. */
export type PayloadView = 'text' | 'json' | 'hex';

function decodeBase64(base64: string): Uint8Array {
  const binary = atob(base64);
  const out = new Uint8Array(binary.length);
  for (let i = 0; i < binary.length; i++) out[i] = binary.charCodeAt(i);
  return out;
}

/** A base64 payload shown as text (UTF-8), pretty JSON (or why not) or hex. */
export function payload(base64: string, view: PayloadView): string {
  const raw = decodeBase64(base64);
  if (view === 'hex') {
    return Array.from(raw, (b) => b.toString(16).padStart(2, '0')).join(' ');
  }
  const text = new TextDecoder('utf-8', { fatal: false }).decode(raw);
  if (view === 'text') return text;
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return `(not JSON) ${text}`;
  }
}
