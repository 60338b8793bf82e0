import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { modelLoadSettings } from '../../src/embeddings/model-loading.js';
import { TransformersEmbeddings } from '../../src/embeddings/transformers.js';
import {
  FIXTURE_EMBEDDING_TABLE,
  FIXTURE_HIDDEN_SIZE,
  FIXTURE_MODEL_ID,
  FIXTURE_TOKEN_IDS,
} from '../../scripts/make-fixture-model.js';
import { createFixtureModelFolder, fixtureConfig, norm, type FixtureModelFolder } from './fixtureModel.js';

/** What mean pooling then L2 normalization must give: the normalized mean of the tokens' table rows. */
function expectedVector(tokens: readonly string[]): number[] {
  const sum = new Array<number>(FIXTURE_HIDDEN_SIZE).fill(0);
  for (const token of tokens) {
    const row = FIXTURE_EMBEDDING_TABLE[FIXTURE_TOKEN_IDS[token]!]!;
    row.forEach((value, column) => (sum[column]! += value));
  }
  const mean = sum.map((value) => value / tokens.length);
  return mean.map((value) => value / norm(mean));
}

function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 5));
}

describe('TransformersEmbeddings on the fixture model (remote models disabled)', () => {
  let folder: FixtureModelFolder;
  let embeddings: TransformersEmbeddings;

  beforeAll(async () => {
    folder = await createFixtureModelFolder();
    // Local model path set explicitly, cache dir elsewhere: the model must come from the local path.
    const settings = modelLoadSettings(fixtureConfig(`${folder.root}/unused-cache`), { localModelPath: folder.root });
    embeddings = await TransformersEmbeddings.load(settings, { model: FIXTURE_MODEL_ID, batchSize: 2 });
  });

  afterAll(async () => {
    await embeddings?.close();
    await folder?.remove();
  });

  it('given the fixture model, it should report its hidden size as the dimension and name the model in its id', () => {
    expect(embeddings.dimension).toBe(FIXTURE_HIDDEN_SIZE);
    expect(embeddings.id).toBe(`transformers:${FIXTURE_MODEL_ID}`);
  });

  it('given texts of different lengths in one batch, it should return what the weights imply, ignoring padding', async () => {
    const [long, short, unknown] = await embeddings.embedDocuments([
      'Attention is all you need',
      'Sparse models',
      'quantum attention',
    ]);
    expectClose(long!, expectedVector(['[CLS]', 'attention', 'is', 'all', 'you', 'need', '[SEP]']));
    // "models" is split by WordPiece into model + ##s; the batch pads this text with [PAD] rows that must not count.
    expectClose(short!, expectedVector(['[CLS]', 'sparse', 'model', '##s', '[SEP]']));
    expectClose(unknown!, expectedVector(['[CLS]', '[UNK]', 'attention', '[SEP]']));
  });

  it('given any texts, it should return unit-length vectors', async () => {
    const vectors = await embeddings.embedDocuments([
      'graph neural network',
      'SPEECH data',
      '',
      'large language models',
    ]);
    for (const vector of vectors) expect(norm(vector)).toBeCloseTo(1, 5);
  });

  it('given more texts than the batch size, it should return the same vectors as embedding them one by one', async () => {
    const texts = ['dense retrieval', 'image vision', 'small language model', 'paper', 'neural graph learning'];
    const batched = await embeddings.embedDocuments(texts);
    expect(batched).toHaveLength(texts.length);
    for (const [index, text] of texts.entries()) expectClose(batched[index]!, await embeddings.embedQuery(text));
  });
});

describe('TransformersEmbeddings.close', () => {
  it('given a closed embedder, it should refuse to embed with a message naming the model', async () => {
    const folder = await createFixtureModelFolder();
    try {
      const embeddings = await TransformersEmbeddings.load(modelLoadSettings(fixtureConfig(folder.root)), {
        model: FIXTURE_MODEL_ID,
      });
      expect(await embeddings.embedQuery('attention')).toHaveLength(FIXTURE_HIDDEN_SIZE);
      await embeddings.close();
      await expect(embeddings.embedQuery('attention')).rejects.toThrow(
        `the embedding model ${FIXTURE_MODEL_ID} was closed`,
      );
    } finally {
      await folder.remove();
    }
  });
});
