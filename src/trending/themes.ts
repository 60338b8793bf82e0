import { definedOnly } from '../util/options.js';
import { eng } from 'stopword';
import type { Paper } from '../papers/paper.js';

/** A group of the day's papers that read alike, named by the words that set it apart from the others. */
export interface Theme {
  label: string;
  paperIds: string[];
}

export interface ThemeOptions {
  /** Fewer papers than this make no themes line: two clusters of one paper say nothing. */
  minPapers?: number;
  minThemes?: number;
  maxThemes?: number;
  /** Words per label. */
  labelTerms?: number;
}

export const DEFAULT_THEME_OPTIONS: Required<ThemeOptions> = {
  minPapers: 4,
  minThemes: 2,
  maxThemes: 4,
  labelTerms: 2,
};

/** Words every abstract uses; they would make every label "model, propose". */
const GENERIC_WORDS = new Set([
  ...eng,
  'we',
  'our',
  'us',
  'propose',
  'proposed',
  'present',
  'introduce',
  'introduces',
  'show',
  'shows',
  'paper',
  'work',
  'method',
  'methods',
  'approach',
  'approaches',
  'results',
  'result',
  'new',
  'novel',
  'using',
  'based',
  'via',
  'can',
  'also',
  'both',
  'while',
  'across',
  'without',
  'than',
  'more',
  'most',
  'such',
  'which',
  'these',
  'this',
  'that',
  'their',
  'existing',
  'prior',
  'models',
  'model',
  'large',
  'improves',
  'improve',
  'better',
  'up',
  'one',
  'two',
  'first',
  'each',
  'over',
  'under',
  'within',
  'into',
  'from',
  'with',
  'for',
  'and',
  'the',
  'are',
  'has',
  'have',
  'language',
  'languages',
  'llm',
  'llms',
  'state',
  'art',
  'extensive',
  'experiments',
  'performance',
  'task',
  'tasks',
  'release',
  'code',
  'data',
]);

const dot = (a: readonly number[], b: readonly number[]) => {
  let sum = 0;
  for (let i = 0; i < a.length; i++) sum += a[i] * b[i];
  return sum;
};

function normalize(vector: number[]): number[] {
  const norm = Math.sqrt(dot(vector, vector));
  return norm === 0 ? vector : vector.map((value) => value / norm);
}

/**
 * Spherical k-means on unit vectors. Seeding is deterministic (farthest-first from the first vector, which is the
 * top-ranked paper) so the same day always gives the same themes.
 */
export function sphericalKMeans(vectors: readonly number[][], k: number, iterations = 25): number[] {
  const centroids: number[][] = [vectors[0]];
  while (centroids.length < k) {
    let farthest = 0;
    let farthestSimilarity = Infinity;
    vectors.forEach((vector, index) => {
      const nearest = Math.max(...centroids.map((centroid) => dot(vector, centroid)));
      if (nearest < farthestSimilarity) {
        farthestSimilarity = nearest;
        farthest = index;
      }
    });
    centroids.push(vectors[farthest]);
  }
  let assignment = vectors.map(() => -1);
  for (let round = 0; round < iterations; round++) {
    const next = vectors.map((vector) => {
      let best = 0;
      for (let c = 1; c < k; c++) if (dot(vector, centroids[c]) > dot(vector, centroids[best])) best = c;
      return best;
    });
    if (next.every((cluster, index) => cluster === assignment[index])) break;
    assignment = next;
    for (let c = 0; c < k; c++) {
      const members = vectors.filter((_, index) => assignment[index] === c);
      // An emptied cluster keeps its old centroid rather than collapsing to zero.
      if (members.length === 0) continue;
      const sum = new Array<number>(members[0].length).fill(0);
      for (const member of members) member.forEach((value, i) => (sum[i] += value));
      centroids[c] = normalize(sum);
    }
  }
  return assignment;
}

/** Mean silhouette with cosine distance: how much closer papers are to their own cluster than to the next one. */
export function silhouette(vectors: readonly number[][], assignment: readonly number[]): number {
  const clusters = new Set(assignment);
  if (clusters.size < 2) return -1;
  let total = 0;
  vectors.forEach((vector, index) => {
    const distances = new Map<number, { sum: number; count: number }>();
    vectors.forEach((other, otherIndex) => {
      if (otherIndex === index) return;
      const entry = distances.get(assignment[otherIndex]) ?? { sum: 0, count: 0 };
      entry.sum += 1 - dot(vector, other);
      entry.count += 1;
      distances.set(assignment[otherIndex], entry);
    });
    const own = distances.get(assignment[index]);
    // A paper alone in its cluster scores 0, the usual convention.
    if (!own) return;
    const a = own.sum / own.count;
    let b = Infinity;
    for (const [cluster, entry] of distances)
      if (cluster !== assignment[index]) b = Math.min(b, entry.sum / entry.count);
    total += (b - a) / Math.max(a, b, Number.EPSILON);
  });
  return total / vectors.length;
}

/** Terms of a paper with a weight: its keywords count most, then title words, then abstract words. */
function paperTerms(paper: Paper): Map<string, number> {
  const terms = new Map<string, number>();
  const add = (term: string, weight: number) => terms.set(term, Math.max(terms.get(term) ?? 0, weight));
  const words = (text: string) =>
    text
      .toLowerCase()
      .split(/[^\p{L}\p{N}-]+/u)
      .map((word) => word.replace(/^-+|-+$/g, ''))
      .filter((word) => word.length >= 3 && !GENERIC_WORDS.has(word) && !/^\d+$/.test(word));
  for (const word of words(paper.abstract)) add(word, 1);
  const titleWords = words(paper.title);
  for (const word of titleWords) add(word, 1.3);
  // Adjacent title words name things better than single words ("kv cache", "video generation").
  for (let i = 1; i < titleWords.length; i++) add(`${titleWords[i - 1]} ${titleWords[i]}`, 1.5);
  for (const keyword of paper.keywords ?? []) {
    const phrase = keyword.toLowerCase().trim();
    if (phrase && !GENERIC_WORDS.has(phrase)) add(phrase, 1.6);
  }
  return terms;
}

/**
 * A label for each cluster: the terms most shared inside it and least outside it. Terms already used by another
 * label, or contained in a term already picked, are skipped, so labels differ and do not repeat themselves.
 */
function labelClusters(
  papers: readonly Paper[],
  assignment: readonly number[],
  k: number,
  labelTerms: number,
): string[] {
  const termsByPaper = papers.map(paperTerms);
  const used = new Set<string>();
  const labels: string[] = [];
  for (let cluster = 0; cluster < k; cluster++) {
    const inside = termsByPaper.filter((_, index) => assignment[index] === cluster);
    const outside = termsByPaper.filter((_, index) => assignment[index] !== cluster);
    const scores = new Map<string, number>();
    const support = new Map<string, number>();
    for (const terms of inside) {
      for (const [term, weight] of terms) {
        scores.set(term, (scores.get(term) ?? 0) + weight / inside.length);
        support.set(term, (support.get(term) ?? 0) + 1);
      }
    }
    for (const terms of outside) {
      for (const [term, weight] of terms) {
        if (scores.has(term)) scores.set(term, scores.get(term)! - weight / outside.length);
      }
    }
    const minimumSupport = inside.length > 1 ? 2 : 1;
    const ranked = [...scores.entries()]
      .filter(([term]) => (support.get(term) ?? 0) >= minimumSupport && !used.has(term))
      .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
      .map(([term]) => term);
    const picked: string[] = [];
    for (const term of ranked) {
      if (picked.length === labelTerms) break;
      if (picked.some((chosen) => chosen.includes(term) || term.includes(chosen))) continue;
      picked.push(term);
    }
    picked.forEach((term) => used.add(term));
    labels.push(picked.length ? picked.join(', ') : 'other');
  }
  return labels;
}

/**
 * Groups the papers into 2 to 4 themes by their embeddings, choosing the number of clusters with the best
 * silhouette. `vectors[i]` is the unit embedding of `papers[i]`; papers are expected best first. Returns no themes
 * for fewer than `minPapers` papers. Themes come out largest first.
 */
export function findThemes(
  papers: readonly Paper[],
  vectors: readonly number[][],
  options: ThemeOptions = {},
): Theme[] {
  const settings = { ...DEFAULT_THEME_OPTIONS, ...definedOnly(options) };
  if (papers.length !== vectors.length) {
    throw new Error(`findThemes: ${papers.length} papers but ${vectors.length} vectors`);
  }
  if (papers.length < settings.minPapers) return [];
  const unitVectors = vectors.map((vector) => normalize([...vector]));
  let best: { assignment: number[]; k: number; score: number } | undefined;
  const largestK = Math.min(settings.maxThemes, papers.length - 1);
  for (let k = settings.minThemes; k <= largestK; k++) {
    const assignment = sphericalKMeans(unitVectors, k);
    const score = silhouette(unitVectors, assignment);
    if (!best || score > best.score) best = { assignment, k, score };
  }
  if (!best) return [];
  const { assignment, k } = best;
  const labels = labelClusters(papers, assignment, k, settings.labelTerms);
  return labels
    .map((label, cluster) => ({
      label,
      paperIds: papers.filter((_, index) => assignment[index] === cluster).map((paper) => paper.id),
    }))
    .filter((theme) => theme.paperIds.length > 0)
    .sort((a, b) => b.paperIds.length - a.paperIds.length);
}
