import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { modelLoadSettings } from '../../src/embeddings/model-loading.js';
import {
  DEFAULT_EMBEDDING_MODEL,
  EMBEDDING_MODEL_PROFILES,
  embeddingModelProfile,
  type EmbeddingModelProfile,
} from '../../src/embeddings/profiles.js';
import { createEmbedder } from '../../src/embeddings/registry.js';
import { TransformersEmbeddings } from '../../src/embeddings/transformers.js';
import { gradeConfidence } from '../../src/retrieval/abstention.js';
import { hybridOptionsFromSettings } from '../../src/retrieval/hybridOptions.js';
import { PaperLibrary } from '../../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../../src/logger.js';
import { paperId, type Paper } from '../../src/papers/paper.js';
import {
  FIXTURE_CONTEXTUAL_MODEL_ID,
  FIXTURE_EMBEDDING_TABLE,
  FIXTURE_HIDDEN_SIZE,
  FIXTURE_MODEL_ID,
  FIXTURE_TOKEN_IDS,
} from '../../scripts/make-fixture-model.js';
import { recordingLogger, temporaryDirectory } from '../library/support.js';
import { createFixtureModelFolder, fixtureConfig, type FixtureModelFolder } from './fixtureModel.js';

type Vector = number[];

function row(token: string): Vector {
  const id = FIXTURE_TOKEN_IDS[token];
  if (id === undefined) throw new Error(`${token} is not in the fixture vocabulary`);
  return [...FIXTURE_EMBEDDING_TABLE[id]!];
}

const sum = (vectors: readonly Vector[]): Vector =>
  vectors.reduce(
    (total, vector) => total.map((value, index) => value + vector[index]!),
    Array(FIXTURE_HIDDEN_SIZE).fill(0),
  );

function normalized(vector: Vector): Vector {
  const length = Math.hypot(...vector);
  return vector.map((value) => value / length);
}

/** The contextual fixture's state at each position: the rows from there to the end, summed. */
function contextualStates(tokens: readonly string[]): Vector[] {
  return tokens.map((_token, position) => sum(tokens.slice(position).map(row)));
}

function expectClose(actual: readonly number[], expected: readonly number[]): void {
  expect(actual).toHaveLength(expected.length);
  actual.forEach((value, index) => expect(value).toBeCloseTo(expected[index]!, 4));
}

async function loadFixture(
  folder: FixtureModelFolder,
  model: string,
  profile: Partial<EmbeddingModelProfile>,
  batchSize = 4,
): Promise<TransformersEmbeddings> {
  const settings = modelLoadSettings(fixtureConfig(folder.root));
  return TransformersEmbeddings.load(settings, { model, profile, batchSize });
}

describe('embedding model profiles on the fixture models', () => {
  let folder: FixtureModelFolder;
  beforeAll(async () => {
    folder = await createFixtureModelFolder();
  });
  afterAll(async () => folder?.remove());

  it('given CLS pooling, it should return the first token state of each text, whatever else is in the batch', async () => {
    const embeddings = await loadFixture(folder, FIXTURE_CONTEXTUAL_MODEL_ID, { pooling: 'cls' });
    try {
      const [long, short] = await embeddings.embedDocuments(['attention is all you need', 'sparse models']);
      // The first state sums every real token: padding added to the short text must not count.
      expectClose(long!, normalized(sum(['[CLS]', 'attention', 'is', 'all', 'you', 'need', '[SEP]'].map(row))));
      expectClose(short!, normalized(sum(['[CLS]', 'sparse', 'model', '##s', '[SEP]'].map(row))));
    } finally {
      await embeddings.close();
    }
  });

  it('given mean pooling of the same model, it should average every real position instead', async () => {
    const embeddings = await loadFixture(folder, FIXTURE_CONTEXTUAL_MODEL_ID, { pooling: 'mean' });
    try {
      const tokens = ['[CLS]', 'sparse', 'model', '##s', '[SEP]'];
      const [vector] = await embeddings.embedDocuments(['sparse models', 'attention is all you need']);
      const states = contextualStates(tokens);
      expectClose(vector!, normalized(sum(states).map((value) => value / states.length)));
      const cls = normalized(states[0]!);
      expect(vector!.some((value, index) => Math.abs(value - cls[index]!) > 0.01)).toBe(true);
    } finally {
      await embeddings.close();
    }
  });

  it('given query and document prefixes, it should put each before its own kind of text only', async () => {
    const embeddings = await loadFixture(folder, FIXTURE_MODEL_ID, {
      queryPrefix: 'query: ',
      documentPrefix: 'passage: ',
    });
    try {
      const mean = (tokens: string[]) => normalized(sum(tokens.map(row)).map((value) => value / tokens.length));
      expectClose(await embeddings.embedQuery('attention'), mean(['[CLS]', 'query', ':', 'attention', '[SEP]']));
      const [document] = await embeddings.embedDocuments(['attention']);
      expectClose(document!, mean(['[CLS]', 'passage', ':', 'attention', '[SEP]']));
    } finally {
      await embeddings.close();
    }
  });

  it('given a token limit, it should embed only the first tokens of a longer text', async () => {
    const embeddings = await loadFixture(folder, FIXTURE_MODEL_ID, { maxTokens: 4 });
    try {
      const [vector] = await embeddings.embedDocuments(['graph neural network retrieval paper']);
      // transformers.js 3 cuts after adding the special tokens, so the final [SEP] goes too (Python's tokenizers keep it).
      const kept = ['[CLS]', 'graph', 'neural', 'network'];
      expectClose(vector!, normalized(sum(kept.map(row)).map((value) => value / kept.length)));
    } finally {
      await embeddings.close();
    }
  });

  it('given texts in any order of length across several batches, it should return each text its own vector', async () => {
    const embeddings = await loadFixture(folder, FIXTURE_CONTEXTUAL_MODEL_ID, { pooling: 'cls' }, 2);
    try {
      const texts = ['paper', 'large language model data', 'graph', 'dense retrieval', 'image vision speech data'];
      const together = await embeddings.embedDocuments(texts);
      for (const [index, text] of texts.entries()) expectClose(together[index]!, await embeddings.embedQuery(text));
    } finally {
      await embeddings.close();
    }
  });

  it('given a profile whose dimension is not the model’s, it should refuse to load and name both', async () => {
    await expect(loadFixture(folder, FIXTURE_MODEL_ID, { dimension: 384 })).rejects.toThrow(
      `${FIXTURE_MODEL_ID} returned ${FIXTURE_HIDDEN_SIZE} dimensions, its profile says 384`,
    );
  });

  it('given a library embedded by another model of the same dimension, it should re-embed it on open with one warning', async () => {
    const dataDir = await temporaryDirectory('papercord-profiles-');
    const papers: Paper[] = ['attention is all you need', 'sparse graph retrieval'].map((title) => ({
      id: paperId({ title }),
      title,
      abstract: `${title} for large language model data`,
      authors: [],
      source: 'test',
    }));
    const open = async (model: string) => {
      const { logger, warnings } = recordingLogger();
      const config = fixtureConfig(folder.root, { EMBEDDING_MODEL: model, EMBEDDINGS: 'transformers' });
      const embedder = await createEmbedder(config, silentLogger());
      const library = await PaperLibrary.open({ dataDir: dataDir.path, embedder, logger });
      return { library, embedder, warnings };
    };
    try {
      const old = await open(FIXTURE_MODEL_ID);
      await old.library.add(papers);
      await old.library.close();
      await old.embedder.close();

      const current = await open(FIXTURE_CONTEXTUAL_MODEL_ID);
      try {
        expect(current.warnings).toEqual([
          expect.stringMatching(
            new RegExp(
              `built by .*transformers:${FIXTURE_MODEL_ID}.*now configured: transformers:${FIXTURE_CONTEXTUAL_MODEL_ID} \\(8 dimensions\\); re-embedding 2 papers`,
            ),
          ),
        ]);
        const [hit] = await current.library.vectorSearch('attention is all you need', 1);
        expect(hit?.paper.title).toBe('attention is all you need');
      } finally {
        await current.library.close();
        await current.embedder.close();
      }
    } finally {
      await dataDir.remove();
    }
  });
});

describe('the profile registry', () => {
  it('given the default configuration, it should embed with the default model and its int8 weights', () => {
    const config = loadConfig({});
    expect(config.EMBEDDING_MODEL).toBe(DEFAULT_EMBEDDING_MODEL);
    expect(config.EMBEDDING_DTYPE).toBe('auto');
    expect(embeddingModelProfile(DEFAULT_EMBEDDING_MODEL)).toMatchObject({ dimension: 384, dtype: 'q8' });
  });

  it('given a BGE or Arctic model, it should use CLS pooling and the retrieval instruction before queries only', () => {
    for (const model of ['Xenova/bge-small-en-v1.5', 'Snowflake/snowflake-arctic-embed-xs']) {
      expect(embeddingModelProfile(model)).toMatchObject({
        pooling: 'cls',
        queryPrefix: 'Represent this sentence for searching relevant passages: ',
        documentPrefix: '',
      });
    }
  });

  it('given a model without an entry, it should run it as sentence-transformers models usually are', () => {
    expect(embeddingModelProfile('someone/unknown-model')).toEqual({
      pooling: 'mean',
      queryPrefix: '',
      documentPrefix: '',
      normalize: true,
      dtype: 'fp32',
      minDenseSimilarity: 0.9,
    });
  });

  it('given every entry, it should have a whole positive dimension and token limit', () => {
    for (const [model, profile] of Object.entries(EMBEDDING_MODEL_PROFILES)) {
      expect(Number.isInteger(profile.dimension) && profile.dimension! > 0, model).toBe(true);
      expect(Number.isInteger(profile.maxTokens) && profile.maxTokens! > 0, model).toBe(true);
    }
  });

  it('given a model whose unrelated texts sit near 0.8, it should not call a 0.8 neighbour sure unless MIN_DENSE_SIMILARITY says so', () => {
    const closeButUnrelated = { coverage: 0, evidence: 0, denseSimilarity: 0.8 };
    const profileFloor = hybridOptionsFromSettings({}, embeddingModelProfile(DEFAULT_EMBEDDING_MODEL)).abstention;
    expect(gradeConfidence(closeButUnrelated, profileFloor || assert(), 'transformers')).not.toBe('high');
    const configured = hybridOptionsFromSettings(
      { MIN_DENSE_SIMILARITY: 0.5 },
      embeddingModelProfile(DEFAULT_EMBEDDING_MODEL),
    ).abstention;
    expect(gradeConfidence(closeButUnrelated, configured || assert(), 'transformers')).toBe('high');
  });

  it('given a bad EMBEDDING_DTYPE, it should stop with a line naming the variable', () => {
    expect(() => loadConfig({ EMBEDDING_DTYPE: 'int4' })).toThrow(/EMBEDDING_DTYPE/);
  });
});

function assert(): never {
  throw new Error('expected abstention options');
}
