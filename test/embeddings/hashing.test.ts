import { describe, expect, it } from 'vitest';
import { DEFAULT_HASHING_OPTIONS, HashingEmbeddings, fnv1a } from '../../src/embeddings/hashing.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import { dot, norm } from './fixtureModel.js';

const ATTENTION_ABSTRACT =
  'The dominant sequence transduction models are based on complex recurrent or convolutional neural networks. ' +
  'We propose a new simple network architecture, the Transformer, based solely on attention mechanisms.';
const ATTENTION_QUERY = 'transformer architectures built only from attention';
const VISION_ABSTRACT =
  'Deeper neural networks are more difficult to train. We present a residual learning framework to ease the ' +
  'training of networks for image recognition on ImageNet.';
const RETRIEVAL_ABSTRACT =
  'Retrieval-augmented generation combines a parametric language model with a dense vector index of Wikipedia.';

describe('HashingEmbeddings', () => {
  const embedder = new HashingEmbeddings();

  it('given the same text in two embedders, it should produce identical vectors (pinned across machines)', async () => {
    const first = await embedder.embedQuery(ATTENTION_ABSTRACT);
    const second = await new HashingEmbeddings().embedQuery(ATTENTION_ABSTRACT);
    expect(second).toEqual(first);
    // A fingerprint of the rounded vector: changes only if the algorithm changes, which must bump the id.
    const fingerprint = fnv1a(first.map((value) => value.toFixed(6)).join(','), 0);
    expect({ id: embedder.id, fingerprint }).toEqual({ id: 'hashing:v1:1024:61f2e553', fingerprint: 3189225437 });
  });

  it('given the seed library, it should give the vectors stored libraries hold, to the last bit, whatever it embedded before', async () => {
    const seeds = (await loadPapersFromSource('seeds')).map((paper) => `${paper.title}\n${paper.abstract}`);
    const warm = new HashingEmbeddings();
    const inOrder = seeds.map((text) => warm.embed(text));
    // Each text alone in a fresh embedder: nothing remembered from other texts may change a vector.
    const alone = seeds.map((text) => new HashingEmbeddings().embed(text));
    expect(inOrder).toEqual(alone);
    // Every digit of every vector, as the embedder wrote them before it remembered words (hashing:v1).
    expect(fnv1a(inOrder.flat().map(String).join(','), 0)).toBe(1912037476);
  });

  it('given any text, even empty or punctuation only, it should return a unit vector of the chosen dimension', async () => {
    const vectors = await embedder.embedDocuments([ATTENTION_ABSTRACT, 'GPT-4', '', '?!', 'the of and', 'naïve Bayes']);
    for (const vector of vectors) {
      expect(vector).toHaveLength(DEFAULT_HASHING_OPTIONS.dimension);
      expect(norm(vector)).toBeCloseTo(1, 10);
    }
  });

  it('given a query about attention, it should rank the Transformer abstract above unrelated ones', async () => {
    const [query, attention, vision, retrieval] = await embedder.embedDocuments([
      ATTENTION_QUERY,
      ATTENTION_ABSTRACT,
      VISION_ABSTRACT,
      RETRIEVAL_ABSTRACT,
    ]);
    const related = dot(query!, attention!);
    expect(related).toBeGreaterThan(dot(query!, vision!) + 0.1);
    expect(related).toBeGreaterThan(dot(query!, retrieval!) + 0.1);
  });

  it('given words that differ only in inflection or accents, it should keep them close', async () => {
    const [plural, singular, other] = await embedder.embedDocuments([
      'Transformers for retrieval',
      'transformer retrieving',
      'convolutional image segmentation',
    ]);
    expect(dot(plural!, singular!)).toBeGreaterThan(0.6);
    expect(dot(plural!, other!)).toBeLessThan(0.2);
    const [accented, plain] = await embedder.embedDocuments(['naïve Bayes classifiers', 'naive bayes classifier']);
    expect(dot(accented!, plain!)).toBeGreaterThan(0.9);
  });

  it('given documents embedded together, it should match embedding each as a query', async () => {
    const texts = [ATTENTION_ABSTRACT, VISION_ABSTRACT, RETRIEVAL_ABSTRACT];
    const together = await embedder.embedDocuments(texts);
    const alone = await Promise.all(texts.map((text) => embedder.embedQuery(text)));
    expect(together).toEqual(alone);
  });

  it('given tuned options, it should change the dimension and the id, so old indexes are detected', async () => {
    const tuned = new HashingEmbeddings({ dimension: 256, bigramWeight: 0 });
    expect(await tuned.embedQuery(ATTENTION_QUERY)).toHaveLength(256);
    expect(tuned.id).toMatch(/^hashing:v1:256:[0-9a-f]{8}$/);
    expect(new HashingEmbeddings({ bigramWeight: 0 }).id).not.toBe(embedder.id);
  });

  it('given an impossible dimension, it should say which value is wrong', () => {
    expect(() => new HashingEmbeddings({ dimension: 3 })).toThrowError(
      'hashing dimension must be a whole number of at least 8 (got 3)',
    );
  });
});
