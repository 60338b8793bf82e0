import Database from 'better-sqlite3';
import MiniSearch from 'minisearch';
import { describe, expect, it } from 'vitest';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Paper } from '../../src/papers/paper.js';
import { generatePapers, seededRandom } from '../../bench/libraryCorpus.js';
import { LexicalIndex } from '../../src/library/sqlite/lexicalIndex.js';
import { analyzePaper, FILLER_TERMS, queryTerms, stemmedTerms } from '../../src/text/analysis.js';

const papers: Paper[] = [
  {
    id: 'hnet',
    title: 'Dynamic Chunking for End-to-End Hierarchical Sequence Modeling',
    abstract: 'H-Net learns content-dependent chunking of raw bytes, replacing the tokenizer.',
    source: 'test',
  },
  {
    id: 'zett',
    title: 'Zero-Shot Tokenizer Transfer',
    abstract:
      'A hypernetwork predicts embeddings for any new tokenizer, so the model keeps working without retraining.',
    source: 'test',
  },
  {
    id: 'bread',
    title: 'Sourdough baking',
    abstract: 'Long fermentation of sourdough gives bread a crisp crust and an open crumb.',
    source: 'test',
  },
];

/** A real SQLite index in memory, ids by position in `documents`. */
function indexOf(...documents: Paper[]): {
  search(query: string, k: number): Array<{ id: string; score: number }>;
  index: LexicalIndex;
} {
  const index = new LexicalIndex(new Database(':memory:'));
  index.add(documents.map((paper, seq) => ({ seq, analyzed: analyzePaper(paper) })));
  index.refresh();
  return {
    index,
    search: (query, k) => index.search(query, k).map((hit) => ({ id: documents[hit.seq]!.id, score: hit.score })),
  };
}

/** The minisearch configuration this index replaced, to check that scores did not move. */
function minisearchOf(documents: Paper[]): (query: string, k: number) => Array<{ id: string; score: number }> {
  const search = new MiniSearch<Paper>({
    fields: ['title', 'text'],
    storeFields: [],
    idField: 'id',
    extractField: (paper, field) =>
      field === 'id' ? paper.id : field === 'title' ? paper.title : `${paper.title}\n${paper.abstract}`,
    tokenize: (text) => stemmedTerms(text),
    processTerm: (term) => term,
    logger: () => undefined,
  });
  search.addAll(documents);
  return (query, k) => {
    // minisearch keeps document frequencies in protected members; the replaced index read them the same way.
    const internals = search as unknown as {
      _index: Map<string, Map<number, Map<number, number>>>;
      _fieldIds: Record<string, number>;
    };
    const frequency = (term: string) => internals._index.get(term)?.get(internals._fieldIds['text']!)?.size ?? 0;
    const unknown = new Set(queryTerms(query).filter((term) => frequency(term) === 0));
    const loose = (minLength: number) => (term: string) => unknown.has(term) && term.length >= minLength;
    return search
      .search(query, {
        combineWith: 'OR',
        tokenize: (text) => [...new Set(stemmedTerms(text).filter((term) => !FILLER_TERMS.has(term)))],
        boost: { title: 0.2, text: 1 },
        bm25: { k: 1.2, b: 0.75, d: 0 },
        prefix: loose(3),
        fuzzy: (term) => (loose(5)(term) ? 0.2 : false),
      })
      .map((result) => ({ id: String(result.id), score: result.score / Math.max(1, result.queryTerms.length) }))
      .sort((left, right) => right.score - left.score)
      .slice(0, k);
  };
}

describe('LexicalIndex', () => {
  it('given a name written without its hyphen, it should still find the paper (hnet → H-Net)', () => {
    const hits = indexOf(...papers).search('how does hnet chunk bytes', 3);
    expect(hits[0]?.id).toBe('hnet');
  });

  it('given chat shorthand the library never uses, it should match the word it begins (hypernet → hypernetwork)', () => {
    const hits = indexOf(...papers).search('hypernet for a new vocab', 3);
    expect(hits[0]?.id).toBe('zett');
  });

  it('given inflected words, it should match their stems (fermented breads → fermentation, bread)', () => {
    const hits = indexOf(...papers).search('fermented breads', 3);
    expect(hits.map((hit) => hit.id)).toEqual(['bread']);
  });

  it('given a query of stopwords only, it should return nothing', () => {
    expect(indexOf(...papers).search('what is the', 3)).toEqual([]);
  });

  it('given a misspelled word, it should match the word within an edit or two (fermantation → fermentation)', () => {
    expect(
      indexOf(...papers)
        .search('fermantation', 3)
        .map((hit) => hit.id),
    ).toEqual(['bread']);
  });

  it('given the seed papers, it should rank and score exactly as the minisearch BM25 it replaced', async () => {
    const seeds = await loadPapersFromSource('seeds');
    const ours = indexOf(...seeds);
    const theirs = minisearchOf(seeds);
    const queries = [
      'recursive transformer where a router decides how many times each token goes thru the shared layers?',
      'byt5 variant w/ a learned delete gate that shrinks the input seq inside the encoder',
      'can a hypernet generate embeddings for any new tokenizer w/o retraining the LM?',
      'anything on attention sinks?',
      'direct preference optimization at the token level',
      'vision tokenizer for multimodal llm',
    ];
    for (const query of queries) {
      const expected = theirs(query, 10);
      const actual = ours.search(query, 10);
      expect(
        actual.map((hit) => hit.id),
        query,
      ).toEqual(expected.map((hit) => hit.id));
      actual.forEach((hit, index) => expect(hit.score, query).toBeCloseTo(expected[index]!.score, 9));
    }
  });

  it('given papers added in several commits and compacted, it should rank the same as when added at once', () => {
    const once = indexOf(...papers);
    const index = new LexicalIndex(new Database(':memory:'));
    papers.forEach((paper, seq) => index.add([{ seq, analyzed: analyzePaper(paper) }]));
    index.refresh();
    const query = 'tokenizer transfer without retraining bread';
    const before = index.search(query, 3);
    index.compact();
    expect(index.search(query, 3)).toEqual(before);
    expect(before.map((hit) => papers[hit.seq]!.id)).toEqual(once.search(query, 3).map((hit) => hit.id));
    expect(index.size).toBe(3);
  });

  it('given a library of thousands of papers whose common words are in most of them, it should rank and score as minisearch did', async () => {
    // Abstracts recombined from the seed papers' sentences: lists that cover much of the library are scored without
    // listing the papers they touch, and the best are found by scanning every score.
    const seeds = await loadPapersFromSource('seeds');
    const sentences = seeds
      .flatMap((paper) => paper.abstract.split(/(?<=[.!?])\s+(?=[A-Z])/))
      .filter((sentence) => sentence.length >= 40);
    const titleWords = [
      ...new Set(seeds.flatMap((paper) => paper.title.split(/\s+/)).filter((word) => word.length >= 4)),
    ];
    const library = [...generatePapers({ sentences, titleWords, claims: [] }, 3000, 7)];
    const ours = new LexicalIndex(new Database(':memory:'));
    // Several commits, so terms have several posting rows.
    for (let start = 0; start < library.length; start += 700) {
      ours.add(
        library
          .slice(start, start + 700)
          .map((paper, offset) => ({ seq: start + offset, analyzed: analyzePaper(paper) })),
      );
    }
    ours.refresh();
    const theirs = minisearchOf(library);
    const random = seededRandom(3);
    const queries = [
      ...seeds.slice(0, 20).map((paper) => paper.title),
      ...Array.from({ length: 20 }, () => {
        const words = sentences[Math.floor(random() * sentences.length)]!.split(/\s+/);
        const start = Math.floor(random() * Math.max(1, words.length - 8));
        return words.slice(start, start + 3 + Math.floor(random() * 8)).join(' ');
      }),
      'the model and the data of the method',
    ];
    for (const query of queries) {
      const expected = theirs(query, 100);
      const actual = ours.search(query, 100).map((hit) => ({ id: library[hit.seq]!.id, score: hit.score }));
      // Scores equal to 9 digits; the order may differ only among papers whose scores tie to that precision.
      expect(
        actual.map((hit) => hit.score.toFixed(9)),
        query,
      ).toEqual(expected.map((hit) => hit.score.toFixed(9)));
      const distinct = (hits: Array<{ id: string; score: number }>) =>
        hits
          .filter(
            (hit, index) =>
              hits.filter((other) => other.score.toFixed(9) === hit.score.toFixed(9)).length === 1 && index < 99,
          )
          .map((hit) => hit.id);
      expect(distinct(actual), query).toEqual(distinct(expected));
    }
  });
});
