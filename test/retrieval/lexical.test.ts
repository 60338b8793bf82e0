import { describe, expect, it } from 'vitest';
import type { Paper } from '../../src/papers/paper.js';
import { LexicalIndex } from '../../src/retrieval/lexical.js';

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
    abstract: 'A hypernetwork predicts embeddings for any new tokenizer, so the model keeps working without retraining.',
    source: 'test',
  },
  {
    id: 'bread',
    title: 'Sourdough baking',
    abstract: 'Long fermentation of sourdough gives bread a crisp crust and an open crumb.',
    source: 'test',
  },
];

function indexOf(...documents: Paper[]): LexicalIndex {
  const index = LexicalIndex.create();
  index.add(documents);
  return index;
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

  it('given an index saved and restored, it should rank the same', () => {
    const original = indexOf(...papers);
    const restored = LexicalIndex.fromJSON(original.toJSON());
    expect(restored.size).toBe(3);
    expect(restored.search('tokenizer transfer without retraining', 3)).toEqual(original.search('tokenizer transfer without retraining', 3));
  });

  it('given text that is not a saved lexical index, it should throw so the library can rebuild', () => {
    expect(() => LexicalIndex.fromJSON('{"documentCount": 3}')).toThrow(/not a lexical index/);
    expect(() => LexicalIndex.fromJSON('null')).toThrow();
    expect(() => LexicalIndex.fromJSON('{truncated')).toThrow();
  });

  it('given the same paper twice, it should index it once', () => {
    const index = indexOf(papers[0]!);
    index.add([papers[0]!, papers[1]!]);
    expect(index.size).toBe(2);
  });
});
