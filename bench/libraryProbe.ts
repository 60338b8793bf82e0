import Database from 'better-sqlite3';
import pg from 'pg';
import { loadConfig } from '../src/config.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import type { Library } from '../src/library/library.js';
import { PostgresLibrary } from '../src/library/postgres/postgresLibrary.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../src/logger.js';
import { HybridRetriever } from '../src/retrieval/hybrid.js';
import { type CorpusMix, generatePapers, readSentencePool } from './libraryCorpus.js';

/**
 * One measurement of a library built by `bench library`, in a fresh process so that open time and RSS are those
 * of a process that only opens it: open, query latency on the /ask and /search retrieval path, recall@10 of the
 * HNSW search against an exact scan of the library's own vectors, then adding 20 new papers.
 * argv: <dataDir | postgres:<table>> <n> <corpus> <queries> [topical|uniform]; prints one JSON object. A
 * `postgres:` library is in DATABASE_URL.
 */

export interface ProbeResult {
  open_ms: number;
  rss_mb: number;
  query_p50_ms: number;
  query_p99_ms: number;
  queries: number;
  recall10: number;
  add20_ms: number;
}

const [location, size, corpus, queriesFile, mixArg] = process.argv.slice(2) as [
  string,
  string,
  string,
  string,
  string | undefined,
];
const mix: CorpusMix = mixArg === 'uniform' ? 'uniform' : 'topical';
const n = Number(size);
const logger = silentLogger();
// HNSW_EF_SEARCH from the environment, as the bot and the CLI read it.
const config = loadConfig({
  EMBEDDINGS: 'hashing',
  HNSW_EF_SEARCH: process.env.HNSW_EF_SEARCH,
  DATABASE_URL: process.env.DATABASE_URL,
});
const embedder = await createEmbedder(config, logger);
const pool = await readSentencePool(corpus, queriesFile);
const POSTGRES_PREFIX = 'postgres:';
const tableName = location.startsWith(POSTGRES_PREFIX) ? location.slice(POSTGRES_PREFIX.length) : undefined;

/** Every stored vector with its paper's id, read straight from the store's tables (not through its index). */
async function* storedVectors(): AsyncGenerator<{ id: string; vector: ArrayLike<number> }> {
  if (tableName === undefined) {
    const db = new Database(`${location}/library/library.db`, { readonly: true });
    try {
      const rows = db
        .prepare<[], { id: string; vector: Buffer }>('SELECT papers.id, vector FROM vectors JOIN papers USING (seq)')
        .iterate();
      for (const row of rows) yield { id: row.id, vector: new Float32Array(new Uint8Array(row.vector).buffer) };
    } finally {
      db.close();
    }
    return;
  }
  const client = new pg.Client({ connectionString: config.DATABASE_URL });
  await client.connect();
  try {
    for (let after = 0; ;) {
      const { rows } = await client.query<{ seq: string; id: string; embedding: string }>(
        `SELECT seq, id, embedding::text AS embedding FROM ${tableName} WHERE seq > $1 ORDER BY seq LIMIT 5000`,
        [after],
      );
      if (rows.length === 0) return;
      for (const row of rows) yield { id: row.id, vector: JSON.parse(row.embedding) as number[] };
      after = Number(rows[rows.length - 1]!.seq);
    }
  } finally {
    await client.end();
  }
}

const openedAt = performance.now();
const library: Library =
  tableName === undefined
    ? await PaperLibrary.open({ dataDir: location, embedder, logger, efSearch: config.HNSW_EF_SEARCH })
    : await PostgresLibrary.open({
        connectionString: config.DATABASE_URL!,
        tableName,
        embedder,
        logger,
        efSearch: config.HNSW_EF_SEARCH,
      });
const openMs = performance.now() - openedAt;
const rssMb = process.memoryUsage().rss / 1024 / 1024;

// Varied questions: SciFact claims, and sentences of the corpus the library was built from, reworded as chat.
const queries = [
  ...pool.claims.slice(0, 200),
  ...pool.sentences
    .filter((_, index) => index % 997 === 0)
    .slice(0, 100)
    .map((sentence) => `what about ${sentence.split(' ').slice(0, 10).join(' ')}?`),
];
const retriever = new HybridRetriever(library);
for (const query of queries.slice(0, 5)) await retriever.retrieve(query, { k: 5 });
const latencies: number[] = [];
for (const query of queries) {
  const started = performance.now();
  await retriever.retrieve(query, { k: 5 });
  latencies.push(performance.now() - started);
}
latencies.sort((a, b) => a - b);
const percentile = (p: number) => latencies[Math.min(latencies.length - 1, Math.floor((p / 100) * latencies.length))]!;

// Exact top 10 by cosine over every stored vector, streamed from the store's tables. Half SciFact claims (off the library:
// their nearest papers are nearly tied, the hardest case for HNSW), half questions built from the library's sentences.
const claimQueries = pool.claims.slice(0, 100);
const recallQueries = [...claimQueries, ...queries.slice(200, 300)];
const queryVectors = await Promise.all(recallQueries.map((query) => embedder.embeddings.embedQuery(query)));
const exact = queryVectors.map(() => [] as Array<{ id: string; score: number }>);
for await (const { id, vector } of storedVectors()) {
  let norm = 0;
  for (let i = 0; i < vector.length; i += 1) norm += vector[i]! * vector[i]!;
  norm = Math.sqrt(norm) || 1;
  queryVectors.forEach((query, index) => {
    let dot = 0;
    for (let i = 0; i < vector.length; i += 1) dot += vector[i]! * query[i]!;
    const best = exact[index]!;
    const score = dot / norm;
    if (best.length < 10 || score > best[best.length - 1]!.score) {
      best.push({ id, score });
      best.sort((a, b) => b.score - a.score);
      if (best.length > 10) best.pop();
    }
  });
}
let found = 0;
let foundForClaims = 0;
for (const [index, query] of recallQueries.entries()) {
  const indexed = new Set((await library.vectorSearch(query, 10)).map((hit) => hit.paper.id));
  for (const { id } of exact[index]!) {
    if (!indexed.has(id)) continue;
    found += 1;
    if (index < claimQueries.length) foundForClaims += 1;
  }
}
process.stderr.write(
  `  recall@10: ${(foundForClaims / (claimQueries.length * 10)).toFixed(3)} on SciFact claims, ` +
    `${((found - foundForClaims) / ((recallQueries.length - claimQueries.length) * 10)).toFixed(3)} on questions from the library's sentences\n`,
);
const fresh = [...generatePapers(pool, 20, 1, n + 1_000_000, mix)];
const addedAt = performance.now();
await library.add(fresh);
const add20Ms = performance.now() - addedAt;
await library.close();

const result: ProbeResult = {
  open_ms: Math.round(openMs),
  rss_mb: Math.round(rssMb),
  query_p50_ms: Math.round(percentile(50) * 10) / 10,
  query_p99_ms: Math.round(percentile(99) * 10) / 10,
  queries: latencies.length,
  recall10: Math.round((found / (recallQueries.length * 10)) * 1000) / 1000,
  add20_ms: Math.round(add20Ms),
};
process.stdout.write(`${JSON.stringify(result)}\n`);
