import { FILLER_TERMS, queryTerms, stemmedTerms } from '../../text/analysis.js';
import { DEFAULT_LEXICAL_TUNING, TERM_EXPANSION } from '../../text/bm25.js';
import type { PaperMatch, RetrievedPaper } from '../library.js';
import { queryRows, type PaperRow, type PostgresStore } from './store.js';

/**
 * BM25 in PostgreSQL, scored as the local lexical index scores it: the query's terms weighed as minisearch weighs
 * them (unknown words expanded to the known terms they begin, and to near misspellings with `fuzzystrmatch`), the
 * GIN index finding candidates, the score computed in SQL from the tsvector's positions and the term table.
 */

const { prefixWeight: PREFIX_WEIGHT, fuzzyWeight: FUZZY_WEIGHT, maxFuzzyDistance: MAX_FUZZY } = TERM_EXPANSION;
/**
 * Known terms one unknown query term expands to, most frequent first (minisearch takes them all; a short prefix in a
 * 100,000-paper vocabulary would match thousands).
 */
const MAX_EXPANSIONS = 50;
/** A query term held by at most this share of papers makes the papers holding it candidates (see `candidateTerms`). */
const RARE_TERM_SHARE = 0.05;
/** Libraries this large take their BM25 candidates from the rarer query terms only. */
const PRUNE_FROM = 1_000;

/**
 * BM25 over title and abstract with the local index's tuning (k1, b, title boost): the GIN index finds the papers
 * holding any query term, their tsvector positions give term frequencies (weight A: in the title), the term table
 * gives document frequencies. Query terms no paper has are expanded to known terms they begin, as the local index does.
 */
export async function bm25Search(store: PostgresStore, query: string, k: number): Promise<RetrievedPaper[]> {
  const rows = await bm25Rows<PaperRow>(store, query, k, 'paper');
  return rows.map((row) => ({ paper: row.paper, score: row.score }));
}

/** As `bm25Search`, paper ids only (hybrid retrieval reads only the papers it keeps). */
export async function bm25Matches(store: PostgresStore, query: string, k: number): Promise<PaperMatch[]> {
  const rows = await bm25Rows<{ id: string }>(store, query, k, 'id');
  return rows.map((row) => ({ id: row.id, score: row.score }));
}

async function bm25Rows<Row extends object>(
  store: PostgresStore,
  query: string,
  k: number,
  read: 'paper' | 'id',
): Promise<Array<Row & { score: number }>> {
  if (k <= 0) return [];
  const { k1, b, titleBoost } = DEFAULT_LEXICAL_TUNING;
  const weighted = await weightedQueryTerms(store, query);
  if (weighted.length === 0) return [];
  const { terms: termTable, papers, totals } = store.tables;
  const result = await queryRows<Row & { score: number }>(
    store,
    `WITH params AS (SELECT $4::float8 AS k1, $5::float8 AS b, $6::float8 AS title_boost),
     query(term, weight) AS (SELECT * FROM unnest($1::text[], $2::float8[])),
     totals AS (SELECT papers, text_length, title_length FROM ${totals}),
     idf AS (
       SELECT query.term, query.weight,
              ln(1 + (totals.papers - t.papers + 0.5) / (t.papers + 0.5)) AS text_idf,
              ln(1 + (totals.papers - t.title_papers + 0.5) / (t.title_papers + 0.5)) AS title_idf,
              totals.text_length::float8 / greatest(totals.papers, 1) AS text_avg,
              greatest(totals.title_length::float8 / greatest(totals.papers, 1), 1) AS title_avg
       FROM query JOIN ${termTable} t USING (term), totals),
     matched AS (
       SELECT p.seq, p.text_length, p.title_length, cardinality(u.positions) AS tf,
              (SELECT count(*) FROM unnest(u.weights) w WHERE w = 'A') AS title_tf, u.lexeme
       FROM ${papers} p, unnest(p.terms) u
       WHERE p.terms @@ $3::tsquery AND u.lexeme = ANY($1::text[])),
     scored AS (
       SELECT matched.seq, sum(idf.weight * (
                idf.text_idf * matched.tf * (p.k1 + 1) / (matched.tf + p.k1 * (1 - p.b + p.b * matched.text_length / idf.text_avg))
                + CASE WHEN matched.title_tf > 0 THEN p.title_boost * idf.title_idf * matched.title_tf * (p.k1 + 1)
                       / (matched.title_tf + p.k1 * (1 - p.b + p.b * matched.title_length / idf.title_avg)) ELSE 0 END
              )) AS score
       FROM matched JOIN idf ON idf.term = matched.lexeme, params p
       GROUP BY matched.seq ORDER BY score DESC, matched.seq LIMIT $7::int)
     SELECT p.${read}, scored.score FROM scored JOIN ${papers} p USING (seq) ORDER BY scored.score DESC, scored.seq`,
    [
      weighted.map((entry) => entry.term),
      weighted.map((entry) => entry.weight),
      orQuery(candidateTerms(store, weighted, k)),
      k1,
      b,
      titleBoost,
      k,
    ],
  );
  return result.rows;
}

/**
 * The query's terms with their weights, as the local index weighs them: each distinct analyzed term (filler
 * dropped) at 1; a query word no paper has is replaced by the known terms it begins (prefix weight) and those
 * within a small edit distance (fuzzy weight, with `fuzzystrmatch`), so `hypernet` finds `hypernetwork`.
 */
/**
 * The terms whose papers are candidates (every candidate is scored on all query terms): the rarer ones, those in at
 * most RARE_TERM_SHARE of papers, then the next rarest until they hold `k` papers. Reading the term positions of
 * every paper that says "model" or "cell" is what made a query slow, and a paper holding only such words rarely
 * outranks one holding a rare word of the query. A library under PRUNE_FROM papers scores every paper holding any
 * query term, exactly as the local index does.
 */
function candidateTerms(
  store: PostgresStore,
  weighted: ReadonlyArray<{ term: string; papers: number }>,
  k: number,
): string[] {
  if (store.paperCountHint < PRUNE_FROM) return [...new Set(weighted.map((entry) => entry.term))];
  const chosen = new Set<string>();
  let papers = 0;
  for (const entry of [...weighted].sort((left, right) => left.papers - right.papers)) {
    if (papers >= k && entry.papers > RARE_TERM_SHARE * store.paperCountHint) break;
    chosen.add(entry.term);
    papers += entry.papers;
  }
  return [...chosen];
}

async function weightedQueryTerms(
  store: PostgresStore,
  query: string,
): Promise<Array<{ term: string; weight: number; papers: number }>> {
  const { prefixMinLength, fuzzyMinLength, fuzziness, dropFiller } = DEFAULT_LEXICAL_TUNING;
  const terms = [...new Set(stemmedTerms(query).filter((term) => !(dropFiller && FILLER_TERMS.has(term))))];
  if (terms.length === 0) return [];
  const words = queryTerms(query);
  const known = await queryRows<{ term: string; papers: number; total: string }>(
    store,
    `SELECT term, papers, (SELECT papers FROM ${store.tables.totals}) AS total FROM ${store.tables.terms} WHERE term = ANY($1::text[])`,
    [[...terms, ...words]],
  );
  const knownTerms = new Map(known.rows.map((row) => [row.term, row.papers]));
  if (known.rows[0]) store.paperCountHint = Number(known.rows[0].total);
  const unknown = new Set(words.filter((word) => !knownTerms.has(word)));
  const weighted: Array<{ term: string; weight: number; papers: number }> = [];
  for (const term of terms) {
    const papers = knownTerms.get(term);
    if (papers !== undefined) weighted.push({ term, weight: 1, papers });
    if (!unknown.has(term)) continue;
    const prefixed = prefixMinLength > 0 && term.length >= prefixMinLength ? await prefixExpansions(store, term) : [];
    for (const { term: expansion, papers } of prefixed) {
      const weight = (PREFIX_WEIGHT * expansion.length) / (expansion.length + 0.3 * (expansion.length - term.length));
      weighted.push({ term: expansion, weight, papers });
    }
    const maxDistance = Math.min(MAX_FUZZY, Math.round(term.length * fuzziness));
    if (fuzzyMinLength > 0 && term.length >= fuzzyMinLength && maxDistance > 0 && store.fuzzy) {
      const prefixes = new Set(prefixed.map((entry) => entry.term));
      for (const { term: near, distance, papers } of await fuzzyExpansions(store, term, maxDistance)) {
        // A term found both ways counts once, as a prefix.
        if (!prefixes.has(near))
          weighted.push({ term: near, weight: (FUZZY_WEIGHT * near.length) / (near.length + distance), papers });
      }
    }
  }
  return weighted;
}

async function prefixExpansions(store: PostgresStore, word: string): Promise<Array<{ term: string; papers: number }>> {
  const result = await queryRows<{ term: string; papers: number }>(
    store,
    `SELECT term, papers FROM ${store.tables.terms} WHERE term LIKE $1 AND term <> $2 ORDER BY papers DESC LIMIT $3`,
    [`${word.replace(/[\\%_]/g, (char) => `\\${char}`)}%`, word, MAX_EXPANSIONS],
  );
  return result.rows;
}

async function fuzzyExpansions(
  store: PostgresStore,
  word: string,
  maxDistance: number,
): Promise<Array<{ term: string; distance: number; papers: number }>> {
  const result = await queryRows<{ term: string; distance: number; papers: number }>(
    store,
    `SELECT term, distance, papers FROM (
       SELECT term, papers, levenshtein_less_equal(term, $1, $2) AS distance FROM ${store.tables.terms}
       WHERE length(term) BETWEEN $3 AND $4) near
     WHERE distance BETWEEN 1 AND $2 ORDER BY papers DESC LIMIT $5`,
    [word, maxDistance, word.length - maxDistance, word.length + maxDistance, MAX_EXPANSIONS],
  );
  return result.rows;
}

/** A tsquery literal: any of the terms (quoted, so no term is read as an operator). */
export function orQuery(terms: readonly string[]): string {
  return terms.map(quoteTerm).join(' | ');
}

/** Every term, the last one as a prefix (it may be half typed): `'mixtur' & 'recurs':*`. */
export function andPrefixQuery(terms: readonly string[]): string {
  return terms
    .map((term, index) => (index === terms.length - 1 ? `${quoteTerm(term)}:*` : quoteTerm(term)))
    .join(' & ');
}

function quoteTerm(term: string): string {
  return `'${term.replace(/\\/g, '\\\\').replace(/'/g, "''")}'`;
}
