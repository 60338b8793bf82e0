import { performance } from 'node:perf_hooks';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { type HnswlibBuildName, loadHnswlibBinding, runnableHnswlibBuilds } from '../src/library/sqlite/hnswlib.js';
import { clusteredVectors, DEFAULT_INDEX_BENCH_OPTIONS, exactTopK, type IndexBenchOptions } from './index.js';
import type { Benchmark } from './benchmark.js';

/**
 * The builds of hnswlib-node's addon side by side (scripts/build-hnswlib-simd.mjs): each one builds the same graph
 * from the same vectors with the same seed and searches it with the same queries, in one run, so the ratios to the
 * stock build hold whatever else the machine is doing. The defaults are the library's: 1024-d (the offline
 * embedder), M=16, efConstruction=200, efSearch=128.
 */

interface BuildResult {
  build: HnswlibBuildName;
  insert_s: number;
  search_ms: number;
  recall10: number;
  insert_speedup: number;
  search_speedup: number;
}

const round = (value: number, digits: number) => Math.round(value * 10 ** digits) / 10 ** digits;

function measure(
  build: HnswlibBuildName,
  vectors: Float32Array,
  queries: number[][],
  truth: Int32Array[],
  settings: IndexBenchOptions,
) {
  const { HierarchicalNSW } = loadHnswlibBinding(build);
  const count = vectors.length / settings.dimension;
  const index = new HierarchicalNSW('cosine', settings.dimension);
  index.initIndex({
    maxElements: count,
    m: settings.m,
    efConstruction: settings.efConstruction,
    randomSeed: settings.seed,
  });
  const insertStart = performance.now();
  for (let row = 0; row < count; row++)
    index.addPoint(Array.from(vectors.subarray(row * settings.dimension, (row + 1) * settings.dimension)), row);
  const insertMs = performance.now() - insertStart;
  index.setEf(settings.efSearch);
  for (const query of queries.slice(0, 20)) index.searchKnn(query, settings.k); // warm-up
  const searchStart = performance.now();
  const found = queries.map((query) => index.searchKnn(query, settings.k).neighbors);
  const searchMs = (performance.now() - searchStart) / queries.length;
  let hits = 0;
  found.forEach((labels, q) => {
    const expected = new Set(truth[q]);
    for (const label of labels) if (expected.has(label)) hits++;
  });
  return { insertMs, searchMs, recall: hits / (queries.length * settings.k) };
}

export const hnswlibBenchmark: Benchmark = {
  name: 'hnswlib',
  summary:
    'the SIMD builds of hnswlib-node against the stock build: insert and search time on the same graph, recall@10',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      n: { type: 'string' },
      queries: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const settings: IndexBenchOptions = {
      ...DEFAULT_INDEX_BENCH_OPTIONS,
      n: parseCount(values.n, '--n', 10_000, 1_000_000),
      queries: parseCount(values.queries, '--queries', 200, 10_000),
      dimension: 1024,
      efConstruction: 200,
      efSearch: 128,
    };
    const progress = (line: string) => process.stderr.write(`bench hnswlib: ${line}\n`);
    const builds = runnableHnswlibBuilds();
    progress(
      `builds this CPU runs: ${builds.join(', ')}; ${settings.n} clustered ${settings.dimension}-d vectors, ${settings.queries} queries`,
    );
    const vectors = clusteredVectors(settings.n, settings, settings.seed + 1);
    const queryRows = clusteredVectors(settings.queries, settings, settings.seed + 2);
    const queries = Array.from({ length: settings.queries }, (_, q) =>
      queryRows.subarray(q * settings.dimension, (q + 1) * settings.dimension),
    );
    const truth = queries.map((query) => exactTopK(vectors, settings.dimension, query, settings.k));
    const queryArrays = queries.map((query) => Array.from(query));
    const measured = new Map<HnswlibBuildName, ReturnType<typeof measure>>();
    for (const build of builds) {
      progress(`${build}: inserting and searching`);
      measured.set(build, measure(build, vectors, queryArrays, truth, settings));
    }
    const stock = measured.get('stock')!;
    const results: BuildResult[] = builds.map((build) => {
      const { insertMs, searchMs, recall } = measured.get(build)!;
      return {
        build,
        insert_s: round(insertMs / 1000, 2),
        search_ms: round(searchMs, 3),
        recall10: round(recall, 4),
        insert_speedup: round(stock.insertMs / insertMs, 2),
        search_speedup: round(stock.searchMs / searchMs, 2),
      };
    });
    if (values.json) {
      process.stdout.write(`${JSON.stringify({ n: settings.n, dimension: settings.dimension, builds: results })}\n`);
      return;
    }
    process.stdout.write(
      [
        `${settings.n} vectors, ${settings.dimension}-d; M=${settings.m} efConstruction=${settings.efConstruction} efSearch=${settings.efSearch}`,
        'build    insert    search/query  recall@10  insert vs stock  search vs stock',
        ...results.map(
          (r) =>
            `${r.build.padEnd(9)}${`${r.insert_s} s`.padEnd(10)}${`${r.search_ms} ms`.padEnd(14)}${String(r.recall10).padEnd(11)}${`${r.insert_speedup}x`.padEnd(17)}${r.search_speedup}x`,
        ),
      ].join('\n') + '\n',
    );
  },
};
