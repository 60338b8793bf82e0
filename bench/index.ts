import { mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import hnswlib from 'hnswlib-node';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { seededRandom } from './libraryCorpus.js';
import type { Benchmark } from './benchmark.js';

/**
 * The vector index benchmark: HNSW (hnswlib-node, the engine under LangChain's HNSWLib and the library) against an
 * exact scan done well, on the same synthetic vectors and queries, in the same run.
 *
 * Synthetic vectors: uniform noise on the 384-d sphere has no nearest neighbours worth the name (every pair is at
 * nearly the same distance), so neither recall nor speed would mean anything. Sentence embeddings are clustered
 * and lie near a low-dimensional subspace; the generator imitates that: a few hundred random topic centroids,
 * each point its centroid plus a random combination of a few topic directions plus small isotropic noise,
 * normalized.
 */

export interface IndexBenchOptions {
  n: number;
  dimension: number;
  queries: number;
  k: number;
  clusters: number;
  /** Topic directions each cluster varies along (the intrinsic dimension of a cluster). */
  clusterRank: number;
  /** Standard deviation of the per-coordinate noise added to every point (0.05 ≈ as long as the centroid). */
  isotropicNoise: number;
  m: number;
  efConstruction: number;
  efSearch: number;
  seed: number;
}

export const DEFAULT_INDEX_BENCH_OPTIONS: Readonly<IndexBenchOptions> = Object.freeze({
  n: 100_000,
  dimension: 384,
  queries: 200,
  k: 10,
  clusters: 256,
  clusterRank: 12,
  isotropicNoise: 0.02,
  m: 16,
  efConstruction: 100,
  efSearch: 64,
  seed: 42,
});

export interface IndexBenchResult {
  n: number;
  recall10: number;
  hnsw_ms: number;
  exact_ms: number;
  speedup: number;
  load_ms: number;
  rebuild_ms: number;
  load_speedup: number;
  rss_mb: number;
}

function gaussian(random: () => number): () => number {
  return () => Math.sqrt(-2 * Math.log(1 - random())) * Math.cos(2 * Math.PI * random());
}

function normalizeInPlace(vector: Float32Array): void {
  let sum = 0;
  for (let i = 0; i < vector.length; i++) sum += vector[i]! * vector[i]!;
  const norm = Math.sqrt(sum) || 1;
  for (let i = 0; i < vector.length; i++) vector[i]! /= norm;
}

/** `count` clustered unit vectors in one Float32Array, row after row. */
export function clusteredVectors(count: number, options: IndexBenchOptions, seed: number): Float32Array {
  const { dimension, clusters, clusterRank } = options;
  // Centroids and topic directions come from the options' seed so queries and data share them.
  const shapeNoise = gaussian(seededRandom(options.seed));
  const centroids = Array.from({ length: clusters }, () => {
    const centroid = Float32Array.from({ length: dimension }, shapeNoise);
    normalizeInPlace(centroid);
    return centroid;
  });
  const directions = Array.from({ length: clusters * clusterRank }, () => {
    const direction = Float32Array.from({ length: dimension }, shapeNoise);
    normalizeInPlace(direction);
    return direction;
  });
  const random = seededRandom(seed);
  const noise = gaussian(random);
  const vectors = new Float32Array(count * dimension);
  for (let row = 0; row < count; row++) {
    const cluster = Math.floor(random() * clusters);
    const vector = vectors.subarray(row * dimension, (row + 1) * dimension);
    vector.set(centroids[cluster]!);
    for (let r = 0; r < clusterRank; r++) {
      const weight = 0.35 * noise();
      const direction = directions[cluster * clusterRank + r]!;
      for (let i = 0; i < dimension; i++) vector[i]! += weight * direction[i]!;
    }
    for (let i = 0; i < dimension; i++) vector[i]! += options.isotropicNoise * noise();
    normalizeInPlace(vector);
  }
  return vectors;
}

/**
 * Exact top-k by inner product (cosine on unit vectors): one tight loop over the Float32Array and a k-sized
 * min-heap, so the baseline is as fast as plain JavaScript gets and the speedup is honest.
 */
export function exactTopK(vectors: Float32Array, dimension: number, query: Float32Array, k: number): Int32Array {
  const count = vectors.length / dimension;
  const heapScores = new Float64Array(k).fill(-Infinity);
  const heapIds = new Int32Array(k).fill(-1);
  for (let row = 0, offset = 0; row < count; row++, offset += dimension) {
    // Four accumulators: independent additions the CPU can overlap .
    let dot0 = 0;
    let dot1 = 0;
    let dot2 = 0;
    let dot3 = 0;
    let i = 0;
    for (; i + 3 < dimension; i += 4) {
      dot0 += vectors[offset + i]! * query[i]!;
      dot1 += vectors[offset + i + 1]! * query[i + 1]!;
      dot2 += vectors[offset + i + 2]! * query[i + 2]!;
      dot3 += vectors[offset + i + 3]! * query[i + 3]!;
    }
    for (; i < dimension; i++) dot0 += vectors[offset + i]! * query[i]!;
    const dot = dot0 + dot1 + dot2 + dot3;
    if (dot <= heapScores[0]!) continue;
    // Replace the smallest and sift down.
    let position = 0;
    for (;;) {
      const left = 2 * position + 1;
      if (left >= k) break;
      const right = left + 1;
      const child = right < k && heapScores[right]! < heapScores[left]! ? right : left;
      if (heapScores[child]! >= dot) break;
      heapScores[position] = heapScores[child]!;
      heapIds[position] = heapIds[child]!;
      position = child;
    }
    heapScores[position] = dot;
    heapIds[position] = row;
  }
  return heapIds;
}

function buildIndex(vectors: Float32Array, options: IndexBenchOptions): hnswlib.HierarchicalNSW {
  const count = vectors.length / options.dimension;
  const index = new hnswlib.HierarchicalNSW('cosine', options.dimension);
  index.initIndex({
    maxElements: count,
    m: options.m,
    efConstruction: options.efConstruction,
    randomSeed: options.seed,
  });
  for (let row = 0; row < count; row++) {
    index.addPoint(Array.from(vectors.subarray(row * options.dimension, (row + 1) * options.dimension)), row);
  }
  return index;
}

function recallAt(index: hnswlib.HierarchicalNSW, queries: number[][], truth: Int32Array[], k: number): number {
  let found = 0;
  queries.forEach((query, q) => {
    const expected = new Set(truth[q]);
    for (const label of index.searchKnn(query, k).neighbors) if (expected.has(label)) found++;
  });
  return found / (queries.length * k);
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

export async function runIndexBench(
  options: Partial<IndexBenchOptions> = {},
  progress: (line: string) => void = () => {},
): Promise<IndexBenchResult> {
  const settings: IndexBenchOptions = { ...DEFAULT_INDEX_BENCH_OPTIONS, ...options };
  const { n, dimension, k } = settings;
  const workDir = await mkdtemp(path.join(os.tmpdir(), 'papercord-bench-index-'));
  try {
    progress(
      `generating ${n} clustered ${dimension}-d unit vectors (${settings.clusters} clusters) and ${settings.queries} queries`,
    );
    const vectors = clusteredVectors(n, settings, settings.seed + 1);
    const queryRows = clusteredVectors(settings.queries, settings, settings.seed + 2);
    const queries = Array.from({ length: settings.queries }, (_, q) =>
      queryRows.subarray(q * dimension, (q + 1) * dimension),
    );
    const queryArrays = queries.map((query) => Array.from(query));

    const vectorFile = path.join(workDir, 'vectors.f32');
    await writeFile(vectorFile, vectors);

    progress(
      `rebuilding the HNSW index from stored vectors (M=${settings.m}, efConstruction=${settings.efConstruction})`,
    );
    const rebuildStart = performance.now();
    const stored = await readFile(vectorFile);
    const storedVectors = new Float32Array(stored.buffer, stored.byteOffset, stored.byteLength / 4);
    const built = buildIndex(storedVectors, settings);
    const rebuildMs = performance.now() - rebuildStart;

    const indexFile = path.join(workDir, 'hnswlib.index');
    await built.writeIndex(indexFile);
    const indexBytes = (await stat(indexFile)).size;

    progress('loading the persisted index');
    const loadStart = performance.now();
    const index = new hnswlib.HierarchicalNSW('cosine', dimension);
    await index.readIndex(indexFile);
    const loadMs = performance.now() - loadStart;
    index.setEf(settings.efSearch);

    progress(`exact scan of ${settings.queries} queries`);
    const exactStart = performance.now();
    const truth = queries.map((query) => exactTopK(vectors, dimension, query, k));
    const exactMs = (performance.now() - exactStart) / settings.queries;

    progress(`HNSW search of the same queries (efSearch=${settings.efSearch})`);
    recallAt(index, queryArrays.slice(0, 10), truth.slice(0, 10), k); // warm-up
    const hnswStart = performance.now();
    for (const query of queryArrays) index.searchKnn(query, k);
    const hnswMs = (performance.now() - hnswStart) / settings.queries;
    const recall = recallAt(index, queryArrays, truth, k);
    progress(`index file ${(indexBytes / 1024 / 1024).toFixed(1)} MiB`);

    return {
      n,
      recall10: round(recall, 4),
      hnsw_ms: round(hnswMs, 4),
      exact_ms: round(exactMs, 3),
      speedup: round(exactMs / hnswMs, 1),
      load_ms: round(loadMs, 1),
      rebuild_ms: round(rebuildMs, 1),
      load_speedup: round(rebuildMs / loadMs, 1),
      rss_mb: round(process.resourceUsage().maxRSS / 1024, 1),
    };
  } finally {
    await rm(workDir, { recursive: true, force: true });
  }
}

export const indexBenchmark: Benchmark = {
  name: 'index',
  summary: 'HNSW against an exact scan: recall@10, latency, load vs rebuild, peak RSS',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      n: { type: 'string' },
      'ef-search': { type: 'string' },
      m: { type: 'string' },
      'ef-construction': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const defaults = DEFAULT_INDEX_BENCH_OPTIONS;
    const options: Partial<IndexBenchOptions> = {
      n: parseCount(values.n, '--n', defaults.n, 10_000_000),
      efSearch: parseCount(values['ef-search'], '--ef-search', defaults.efSearch, 10_000),
      m: parseCount(values.m, '--m', defaults.m, 200),
      efConstruction: parseCount(values['ef-construction'], '--ef-construction', defaults.efConstruction, 10_000),
    };
    const result = await runIndexBench(options, (line) => process.stderr.write(`bench index: ${line}\n`));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const settings = { ...defaults, ...options };
    process.stdout.write(
      [
        `vectors        ${result.n} synthetic unit vectors, ${settings.dimension}-d, clustered (${settings.clusters} centroids, rank-${settings.clusterRank} spread, small isotropic noise)`,
        `queries        ${settings.queries}, top-${settings.k}; HNSW M=${settings.m} efConstruction=${settings.efConstruction} efSearch=${settings.efSearch}`,
        `recall@10      ${result.recall10}`,
        `per query      HNSW ${result.hnsw_ms} ms, exact scan ${result.exact_ms} ms: ${result.speedup}x faster`,
        `index          load ${result.load_ms} ms, rebuild from stored vectors ${result.rebuild_ms} ms: load ${result.load_speedup}x faster`,
        `peak RSS       ${result.rss_mb} MB`,
      ].join('\n') + '\n',
    );
  },
};
