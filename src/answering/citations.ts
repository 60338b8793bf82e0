/**
 * Citation checking. A model may cite a source it was never given ([9] of five) or mangle a group; every [n] that
 * reaches a user must point at a source the model actually saw.
 */

export interface VerifiedCitations {
  /** The text with every citation of a missing source removed. */
  text: string;
  /** Distinct source numbers cited that exist, ascending. */
  kept: number[];
  /** Distinct source numbers cited that do not exist, ascending. */
  removed: number[];
}

/** `[1]`, `[1, 2]`, `[1-3]`, `[1–3, 5]`; adjacent groups like `[1][2]` match one by one. */
const CITATION_GROUP = /[ \t]*\[\s*(\d+(?:\s*[-–]\s*\d+)?(?:\s*[,;]\s*\d+(?:\s*[-–]\s*\d+)?)*)\s*\]/g;

/** A range wider than this (or backwards) is a typo, not a citation: it is dropped whole. */
const MAX_RANGE = 50;

export function verifyCitations(text: string, sourceCount: number): VerifiedCitations {
  const kept = new Set<number>();
  const removed = new Set<number>();
  const exists = (n: number) => Number.isInteger(n) && n >= 1 && n <= sourceCount;

  const verified = text.replace(CITATION_GROUP, (group: string, list: string) => {
    const valid: string[] = [];
    for (const item of list.split(/\s*[,;]\s*/)) {
      const [low, high = low] = item.split(/\s*[-–]\s*/).map(Number) as [number, number?];
      if (high - low < 0 || high - low > MAX_RANGE) {
        for (const n of [low, high]) if (!exists(n)) removed.add(n);
        continue;
      }
      const numbers = range(low, high);
      const existing = numbers.filter(exists);
      for (const n of numbers) (exists(n) ? kept : removed).add(n);
      if (existing.length === numbers.length && numbers.length > 0) valid.push(item.replace(/\s+/g, ''));
      else valid.push(...existing.map(String));
    }
    if (valid.length === 0) return '';
    const leading = group.match(/^[ \t]*/)![0];
    return `${leading}[${valid.join(', ')}]`;
  });

  return {
    text: verified.trim(),
    kept: [...kept].sort((a, b) => a - b),
    removed: [...removed].sort((a, b) => a - b),
  };
}

function range(low: number, high: number): number[] {
  return Array.from({ length: high - low + 1 }, (_, index) => low + index);
}
