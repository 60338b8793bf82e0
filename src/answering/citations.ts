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

/** What an answer was given from one source: the places it may cite (`§4.1`, `p. 7`). */
export interface CitablePlaces {
  /** Labels of the passages given for source n (index n - 1); an empty set allows only a plain `[n]`. */
  labels: ReadonlySet<string>;
}

export interface SectionCitation {
  n: number;
  /** `§4.1` or `p. 7`; null for a plain `[n]`. */
  label: string | null;
}

export interface VerifiedSectionCitations extends VerifiedCitations {
  /** Every distinct place cited that exists, in order of first appearance. */
  places: SectionCitation[];
}

/** `[2, §4.1]`, `[2, p. 7]`, `[1, §3; 2, §4.1]`, `[2, §4.1, §5]`. */
const PLACE_GROUP =
  /([ \t]*)\[\s*(\d+\s*,\s*(?:§\s*[^\][;,]+?|p(?:p|g)?\.?\s*\d+)(?:\s*,\s*(?:§\s*[^\][;,]+?|p(?:p|g)?\.?\s*\d+))*(?:\s*;\s*\d+(?:\s*,\s*(?:§\s*[^\][;,]+?|p(?:p|g)?\.?\s*\d+))*)*)\s*\]/g;

/** `§ 4.1` → `§4.1`, `pg. 7` → `p. 7`: the form the sources were labelled with. */
function normalizeLabel(raw: string): string {
  const trimmed = raw.trim();
  const page = /^p(?:p|g)?\.?\s*(\d+)$/i.exec(trimmed);
  if (page) return `p. ${page[1]}`;
  return `§${trimmed.replace(/^§\s*/, '').trim()}`;
}

/**
 * Checks section citations as well as source numbers: `[n, §x]` keeps `§x` only when a passage of source n with that
 * label was given, else falls back to `[n]` (the paper is right, the place is not); a number that was not given is
 * removed. Plain `[n]` groups are then checked by `verifyCitations`.
 */
export function verifySectionCitations(text: string, sources: readonly CitablePlaces[]): VerifiedSectionCitations {
  const places: SectionCitation[] = [];
  const seen = new Set<string>();
  const note = (n: number, label: string | null) => {
    const key = `${n}|${label ?? ''}`;
    if (seen.has(key)) return;
    seen.add(key);
    places.push({ n, label });
  };
  const removedPlaces = new Set<number>();
  const withPlaces = text.replace(PLACE_GROUP, (_group: string, leading: string, list: string) => {
    const kept: string[] = [];
    for (const item of list.split(/\s*;\s*/)) {
      const [numberText, ...labels] = item.split(/\s*,\s*/);
      const n = Number(numberText);
      const source = sources[n - 1];
      if (!Number.isInteger(n) || !source) {
        removedPlaces.add(n);
        continue;
      }
      const valid = labels.map(normalizeLabel).filter((label) => source.labels.has(label));
      for (const label of valid) note(n, label);
      if (valid.length === 0) note(n, null);
      kept.push([String(n), ...valid].join(', '));
    }
    return kept.length > 0 ? `${leading}[${kept.join('; ')}]` : '';
  });
  const plain = verifyCitations(withPlaces, sources.length);
  // Plain [n] citations, in order of appearance, join the places cited.
  for (const match of withPlaces.matchAll(CITATION_GROUP)) {
    for (const item of match[1]!.split(/\s*[,;]\s*/)) {
      const [low, high = low] = item.split(/\s*[-–]\s*/).map(Number) as [number, number?];
      if (high - low < 0 || high - low > MAX_RANGE) continue;
      for (const n of range(low, high)) if (n >= 1 && n <= sources.length) note(n, null);
    }
  }
  const kept = new Set([...plain.kept, ...places.map((place) => place.n)]);
  // A paper cited with a place needs no extra plain entry.
  const placed = new Set(places.filter((place) => place.label !== null).map((place) => place.n));
  const distinct = places.filter((place) => place.label !== null || !placed.has(place.n));
  return {
    text: plain.text,
    kept: [...kept].sort((a, b) => a - b),
    removed: [...new Set([...plain.removed, ...removedPlaces])].sort((a, b) => a - b),
    places: distinct,
  };
}

/**
 * The answer without the sentences that claim a concept the sources lack: a sentence naming a missing concept
 * ("federated learning") is dropped unless it says it is absent ("no source covers federated learning"). The
 * prompt already forbids such claims; this is the check that a model followed it.
 */
export function withoutMissingClaims(text: string, missing: readonly string[]): { text: string; refused: string[] } {
  if (missing.length === 0) return { text, refused: [] };
  const refused: string[] = [];
  const patterns = missing.map((concept) => {
    const words = concept.split(/[\s-]+/).map((word) => word.replace(/[.*+?^${}()|[\]\\]/g, '\\$&'));
    return { concept, pattern: new RegExp(`\\b${words.join('[\\s-]+')}`, 'i') };
  });
  const kept = text.split(/(?<=[.!?])\s+/).filter((sentence) => {
    const claimed = patterns.filter(({ pattern }) => pattern.test(sentence));
    if (claimed.length === 0 || NEGATION.test(sentence)) return true;
    refused.push(...claimed.map(({ concept }) => concept));
    return false;
  });
  if (refused.length === 0) return { text, refused: [] };
  return { text: kept.join(' ').trim(), refused: [...new Set(refused)] };
}

/** A sentence that says something is absent: "no source", "does not cover", "none of the papers"… */
const NEGATION = /\b(?:no|not|none|nothing|neither|nor|without|lacks?|absent)\b|n't\b/i;
