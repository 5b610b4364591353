// "Did you mean ...?" for misspelt package names: Levenshtein distance over the names the
// repositories know (package names and provided names).

/** Edit distance (insert, delete, substitute = 1), giving up above `limit` (returns limit + 1). */
export function editDistance(a: string, b: string, limit = Infinity): number {
  if (Math.abs(a.length - b.length) > limit) return limit + 1;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const row = [i];
    let best = i;
    for (let j = 1; j <= b.length; j++) {
      const cost = a.charCodeAt(i - 1) === b.charCodeAt(j - 1) ? 0 : 1;
      const value = Math.min(previous[j]! + 1, row[j - 1]! + 1, previous[j - 1]! + cost);
      row.push(value);
      if (value < best) best = value;
    }
    if (best > limit) return limit + 1;
    previous = row;
  }
  return previous[b.length]!;
}

/**
 * Closest known names to `wanted`, nearest first (ties by name), at most `max` of them.
 * A name qualifies within a third of its length (at least 2 edits), or when one name
 * contains the other (`openssh` for `openssh-server-pam`).
 */
export function suggestNames(wanted: string, known: Iterable<string>, max = 3): string[] {
  const limit = Math.max(2, Math.floor(wanted.length / 3));
  const scored: { name: string; distance: number }[] = [];
  const seen = new Set<string>();
  for (const name of known) {
    if (name === wanted || seen.has(name)) continue;
    seen.add(name);
    let distance = editDistance(wanted, name, limit);
    if (distance > limit && wanted.length >= 4 && (name.includes(wanted) || wanted.includes(name)) && name.length >= 4) {
      distance = limit + Math.abs(name.length - wanted.length) / 100;
    }
    if (distance <= limit + 0.99) scored.push({ name, distance });
  }
  scored.sort((x, y) => x.distance - y.distance || (x.name < y.name ? -1 : x.name > y.name ? 1 : 0));
  return scored.slice(0, max).map((s) => s.name);
}
