/**
 * "Did you mean …": the known name nearest to a mistyped one, by edit distance
 * (Levenshtein, on whole names and on the part after a schema dot, so `core.fct_outcome`
 * finds `core.fct_outcomes` and `fct_outcome` does too). Nothing is suggested when the
 * nearest name is further than a third of the name's length: a guess that far off misleads.
 */
export function nearestName(name: string, known: Iterable<string>): string | undefined {
  let best: { name: string; distance: number } | undefined;
  for (const candidate of known) {
    const short = candidate.includes('.') ? candidate.slice(candidate.indexOf('.') + 1) : candidate;
    const distance = Math.min(editDistance(name, candidate), name.includes('.') ? Infinity : editDistance(name, short));
    if (!best || distance < best.distance) best = { name: candidate, distance };
  }
  if (!best || best.distance === 0 && best.name === name) return undefined;
  return best.distance <= Math.max(2, Math.floor(name.length / 3)) ? best.name : undefined;
}

/** ` (did you mean "x"?)`, or nothing. */
export function didYouMean(name: string, known: Iterable<string>): string {
  const nearest = nearestName(name, known);
  return nearest ? `; did you mean "${nearest}"?` : '';
}

function editDistance(a: string, b: string): number {
  if (a === b) return 0;
  let previous = Array.from({ length: b.length + 1 }, (_, j) => j);
  for (let i = 1; i <= a.length; i++) {
    const current = [i];
    for (let j = 1; j <= b.length; j++) {
      current[j] = Math.min(previous[j]! + 1, current[j - 1]! + 1, previous[j - 1]! + (a[i - 1] === b[j - 1] ? 0 : 1));
    }
    previous = current;
  }
  return previous[b.length]!;
}
