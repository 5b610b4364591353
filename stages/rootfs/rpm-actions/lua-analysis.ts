// Lua scriptlets run inside rpm itself (no /bin/sh): they are covered only by an explicit
// signature (scriptlet-catalog.ts), or when all they do is print.
import { LUA_HARMLESS_CALLS, LUA_SIGNATURES, type Verdict } from './scriptlet-catalog.js';

const NOT_CALLS = new Set(['if', 'elseif', 'while', 'and', 'or', 'not', 'return', 'until', 'in', 'then', 'do', 'else', 'local', 'function']);

/** Functions a Lua body calls: `posix.symlink`, `io.open`, method calls as `:name` (`io.stdout:write` kept whole). */
export function luaCalls(body: string): string[] {
  const code = body.replace(/--\[\[[\s\S]*?\]\]|--[^\n]*/g, '').replace(/"(?:\\.|[^"\\])*"|'(?:\\.|[^'\\])*'/g, '""');
  const calls = new Set<string>();
  for (const match of code.matchAll(/([A-Za-z_][\w]*(?:\s*[.:]\s*[A-Za-z_]\w*)*|\)\s*:\s*[A-Za-z_]\w*)\s*\(/g)) {
    let name = match[1].replace(/\s+/g, '');
    if (NOT_CALLS.has(name)) continue;
    if (name.startsWith(')')) name = name.slice(1);
    else if (name.includes(':') && !/^io\.(stdout|stderr):/.test(name)) name = name.slice(name.indexOf(':'));
    calls.add(name);
  }
  if (/\bfunction\b/.test(code)) calls.add('function');
  return [...calls].sort();
}

/** Absolute paths named in string literals. */
function luaPaths(body: string): string[] {
  const paths: string[] = [];
  for (const match of body.matchAll(/"((?:\\.|[^"\\])*)"|'((?:\\.|[^'\\])*)'/g)) {
    const text = match[1] ?? match[2];
    // A lone "/" joins path pieces; it names nothing.
    if (/^\/[^/]/.test(text)) paths.push(text);
  }
  return paths;
}

export function analyseLua(body: string): { verdict: Verdict; signature?: string } {
  const calls = luaCalls(body);
  if (calls.every((call) => LUA_HARMLESS_CALLS.includes(call))) return { verdict: { kind: 'harmless' } };
  for (const signature of LUA_SIGNATURES) {
    if (!signature.markers.every((marker) => marker.test(body))) continue;
    const stray = calls.filter((call) => !signature.allowedCalls.includes(call));
    const strayPaths = luaPaths(body).filter((path) => !signature.allowedPaths.some((prefix) => path.startsWith(prefix) || prefix === `${path}/`));
    if (stray.length === 0 && strayPaths.length === 0) return { verdict: signature.verdict, signature: signature.id };
    return {
      verdict: {
        kind: 'uncovered',
        note: `looks like ${signature.id} but also ${[...stray.map((c) => `calls ${c}`), ...strayPaths.map((p) => `names ${p}`)].join(', ')}`,
      },
    };
  }
  return { verdict: { kind: 'uncovered', note: `Lua scriptlet calling ${calls.filter((c) => !LUA_HARMLESS_CALLS.includes(c)).join(', ')}: no known signature` } };
}
