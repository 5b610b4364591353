// Did-you-mean for Rhai names: the project's edit distance, but no guesses for one- or
// two-letter names, where every short name is "close".
import { closest } from '../util/did-you-mean.js';

export function didYouMean(name: string, candidates: Iterable<string>): string {
  if (name.length < 3) return '';
  const hint = closest(name, candidates);
  return hint ? `; did you mean '${hint}'?` : '';
}
