// "Did you mean ...?": the one edit distance of the project, for misspelt package names, node
// ids, commands, options, keys and variants.

/**
 * Edit distance where inserting, deleting or substituting a character, or swapping two
 * neighbours (`hs` for `sh`), each cost 1 (optimal string alignment). Gives up above `limit`
 * (returns limit + 1).
 */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let before: number[] = [];
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      let value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      if (i > 1 && j > 1 && a[i - 1] === b[j - 2] && a[i - 2] === b[j - 1]) value = Math.min(value, before[j - 2]! + 1);
      row.push(value);
      if (value < best) best = value;
    }
    if (best > limit) return limit + 1;
    before = previous;
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Closest known names to `wanted`, nearest first (ties by name), at most `max` of them.
 * Close means within a quarter of the name's length in edits (at least one). Only when
 * nothing is that close, names that contain `wanted` or are contained in it are offered
 * (`openssh-server` for `openssh-serv`).
 */
export function suggestNames(wanted: string, known: Iterable<string>, max = 3): string[] {
  const limit = Math.max(1, Math.floor(wanted.length / 4));
  const close: { name: string; distance: number }[] = [];
  const containing: string[] = [];
  const seen = new Set<string>();
  for (const name of known) {
    if (name === wanted || seen.has(name)) continue;
    seen.add(name);
    const distance = editDistance(wanted, name, limit);
    if (distance <= limit) close.push({ name, distance });
    else if (wanted.length >= 4 && name.length >= 4 && (name.includes(wanted) || wanted.includes(name))) containing.push(name);
  }
  const byName = (x: string, y: string): number => (x < y ? -1 : x > y ? 1 : 0);
  if (close.length > 0) {
    close.sort((x, y) => x.distance - y.distance || byName(x.name, y.name));
    return close.slice(0, max).map((s) => s.name);
  }
  containing.sort((x, y) => Math.abs(x.length - wanted.length) - Math.abs(y.length - wanted.length) || byName(x, y));
  return containing.slice(0, max);
}

/** The candidate nearest to `word`, when near enough to be a likely typo (within a third of its length, at least 2). */
export function closest(word: string, candidates: Iterable<string>): string | undefined {
  const limit = Math.max(2, Math.floor(word.length / 3));
  let best: string | undefined;
  let bestDistance = limit + 1;
  for (const c of candidates) {
    const d = editDistance(word, c, limit);
    if (d < bestDistance || (d === bestDistance && best !== undefined && c < best)) {
      best = c;
      bestDistance = d;
    }
  }
  return bestDistance <= limit ? best : undefined;
}
