// Small formatting helpers shared by the reporters.
import type { RemoteEvent, WarningEvent } from '../../graph/events.js';

export function duration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)} ms`;
  if (ms < 60_000) return `${(ms / 1000).toFixed(1)} s`;
  const m = Math.floor(ms / 60_000);
  return `${m} min ${Math.round((ms % 60_000) / 1000)} s`;
}

export function bytes(n: number): string {
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let v = n;
  let u = 0;
  while (v >= 1024 && u < units.length - 1) {
    v /= 1024;
    u++;
  }
  return `${u === 0 ? v : v.toFixed(1)} ${units[u]}`;
}

/** What the remote cache did in a build, in one line. */
export function remoteLine(e: RemoteEvent): string {
  const parts = [`${e.hits} hit${e.hits === 1 ? '' : 's'}`, `${e.misses} missing`];
  if (e.rejected) parts.push(`${e.rejected} refused`);
  parts.push(`${e.uploaded} uploaded`, `${bytes(e.bytesDown)} down`, `${bytes(e.bytesUp)} up`);
  return `remote cache ${e.url}: ${parts.join(', ')}${e.unavailable ? ' (given up: see the warning)' : ''}`;
}

export function warningLine(e: WarningEvent): string {
  return `warning: ${e.id ? `${e.id}: ` : ''}${e.message}`;
}
