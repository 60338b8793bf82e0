import { definedOnly } from '../util/options.js';
import { Embeddings } from '@langchain/core/embeddings';
import type { FeatureExtractionPipeline } from '@huggingface/transformers';
import { loadTransformersModel, ModelLoadError, type ModelLoadSettings } from './model-loading.js';
import { embeddingModelProfile, type EmbeddingDtype, type EmbeddingModelProfile } from './profiles.js';

/**
 * Sentence embeddings from a Hugging Face model run locally by transformers.js, the way the model's authors run it:
 * its pooling (mean over the tokens the attention mask keeps, or the first token's state), its query and document
 * prefixes, its token limit and L2 normalization, all from its profile (profiles.ts).
 *
 * Our own class rather than LangChain's `HuggingFaceTransformersEmbeddings`, which loads the model lazily on the
 * first call (we must know at start whether the model loads, to fall back, and its dimension, to check the
 * index), runs every batch at once (memory grows with the corpus), retries failures six times, knows no prefixes
 * and cannot be disposed.
 */

export interface TransformersEmbeddingsOptions {
  /** Hub id such as `Xenova/gte-small`. */
  model: string;
  /** Texts per forward pass: larger is faster per text until padding to the longest text dominates. */
  batchSize?: number;
  /** Weights variant; default: the profile's (q8 where the model ships int8 weights). */
  dtype?: EmbeddingDtype;
  /** Overrides of the model's profile (tests, models without an entry). */
  profile?: Partial<EmbeddingModelProfile>;
  /** Threads onnxruntime uses for one forward pass; default: its own choice (one per core). */
  threads?: number;
  /** `length` (default) batches texts of similar length together; `input` keeps their order (the old behaviour, benchmarks). */
  batchOrder?: 'length' | 'input';
}

export const DEFAULT_TRANSFORMERS_EMBEDDINGS_OPTIONS = Object.freeze({
  batchSize: 32,
  batchOrder: 'length' as 'length' | 'input',
});

const DIMENSION_PROBE = 'dimension probe';

export class TransformersEmbeddings extends Embeddings {
  readonly model: string;
  readonly dimension: number;
  readonly dtype: EmbeddingDtype;
  readonly profile: Readonly<EmbeddingModelProfile>;
  private readonly batchSize: number;
  private readonly batchOrder: 'length' | 'input';
  private extractor: FeatureExtractionPipeline | undefined;

  private constructor(
    extractor: FeatureExtractionPipeline,
    dimension: number,
    options: {
      model: string;
      batchSize: number;
      batchOrder: 'length' | 'input';
      dtype: EmbeddingDtype;
      profile: Readonly<EmbeddingModelProfile>;
    },
  ) {
    super({});
    this.extractor = extractor;
    this.dimension = dimension;
    this.model = options.model;
    this.dtype = options.dtype;
    this.batchSize = options.batchSize;
    this.batchOrder = options.batchOrder;
    this.profile = options.profile;
  }

  /** Loads the model (downloading it when allowed and missing) and measures its dimension. */
  static async load(
    settings: ModelLoadSettings,
    options: TransformersEmbeddingsOptions,
  ): Promise<TransformersEmbeddings> {
    const { batchSize, batchOrder } = { ...DEFAULT_TRANSFORMERS_EMBEDDINGS_OPTIONS, ...definedOnly(options) };
    if (!Number.isInteger(batchSize) || batchSize < 1) {
      throw new RangeError(`batchSize must be a whole number above 0 (got ${batchSize})`);
    }
    const profile = Object.freeze({ ...embeddingModelProfile(options.model), ...definedOnly(options.profile ?? {}) });
    const dtype = options.dtype ?? profile.dtype;
    const sessionOptions = options.threads ? { intraOpNumThreads: options.threads, interOpNumThreads: 1 } : undefined;
    const extractor = await loadTransformersModel(settings, (transformers) =>
      transformers.pipeline('feature-extraction', options.model, {
        dtype,
        device: 'cpu',
        ...(sessionOptions ? { session_options: sessionOptions } : {}),
      }),
    );
    try {
      // The pipeline truncates at the tokenizer's model_max_length, which for some models is more than they were
      // trained on (all-MiniLM-L6-v2: 512 in the file, 256 in training); the profile's limit wins.
      if (profile.maxTokens !== undefined) extractor.tokenizer.model_max_length = profile.maxTokens;
      const [probe] = await runExtractor(extractor, profile, [DIMENSION_PROBE]);
      if (profile.dimension !== undefined && probe!.length !== profile.dimension) {
        throw new ModelLoadError(
          `${options.model} returned ${probe!.length} dimensions, its profile says ${profile.dimension}`,
        );
      }
      return new TransformersEmbeddings(extractor, probe!.length, {
        model: options.model,
        batchSize,
        batchOrder,
        dtype,
        profile,
      });
    } catch (error) {
      await extractor.dispose();
      throw error;
    }
  }

  /** Identity of the vector space, recorded in the library manifest. */
  get id(): string {
    return `transformers:${this.model}${this.dtype === 'fp32' ? '' : `:${this.dtype}`}`;
  }

  /**
   * Batches of texts of similar length (longest first), so that each batch pads little: a batch costs as much as
   * its longest text times its size. Vectors come back in the order of `documents`.
   */
  async embedDocuments(documents: string[]): Promise<number[][]> {
    const extractor = this.openExtractor();
    const texts = documents.map((document) => this.profile.documentPrefix + document);
    const order = texts.map((_text, index) => index);
    if (this.batchOrder === 'length') order.sort((left, right) => texts[right]!.length - texts[left]!.length);
    const vectors = new Array<number[]>(texts.length);
    for (let start = 0; start < order.length; start += this.batchSize) {
      const batch = order.slice(start, start + this.batchSize);
      const embedded = await runExtractor(
        extractor,
        this.profile,
        batch.map((index) => texts[index]!),
      );
      batch.forEach((index, position) => (vectors[index] = embedded[position]!));
    }
    return vectors;
  }

  async embedQuery(query: string): Promise<number[]> {
    const [vector] = await runExtractor(this.openExtractor(), this.profile, [this.profile.queryPrefix + query]);
    return vector!;
  }

  async close(): Promise<void> {
    const extractor = this.extractor;
    this.extractor = undefined;
    await extractor?.dispose();
  }

  private openExtractor(): FeatureExtractionPipeline {
    if (!this.extractor) throw new Error(`the embedding model ${this.model} was closed`);
    return this.extractor;
  }
}

async function runExtractor(
  extractor: FeatureExtractionPipeline,
  profile: Readonly<EmbeddingModelProfile>,
  texts: string[],
): Promise<number[][]> {
  if (texts.length === 0) return [];
  const output = await extractor(texts, { pooling: profile.pooling, normalize: profile.normalize });
  return output.tolist() as number[][];
}
