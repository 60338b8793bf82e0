import { definedOnly } from '../util/options.js';
import { Embeddings } from '@langchain/core/embeddings';
import type { DataType, FeatureExtractionPipeline } from '@huggingface/transformers';
import { loadTransformersModel, type ModelLoadSettings } from './model-loading.js';

/**
 * Sentence embeddings from a Hugging Face model run locally by transformers.js: mean pooling over the tokens the
 * attention mask keeps, then L2 normalization (how sentence-transformers models such as all-MiniLM-L6-v2 are
 * meant to be used).
 *
 * Our own class rather than LangChain's `HuggingFaceTransformersEmbeddings`, which loads the model lazily on the
 * first call (we must know at start whether the model loads, to fall back, and its dimension, to check the
 * index), runs every batch at once (memory grows with the corpus), retries failures six times and cannot be
 * disposed.
 */

export interface TransformersEmbeddingsOptions {
  /** Hub id such as `Xenova/all-MiniLM-L6-v2`. */
  model: string;
  /** Texts per forward pass: larger is faster per text until padding to the longest text dominates. */
  batchSize?: number;
  /** Weights variant: fp32 is `onnx/model.onnx`, q8 is `onnx/model_quantized.onnx`. */
  dtype?: DataType;
}

export const DEFAULT_TRANSFORMERS_EMBEDDINGS_OPTIONS = Object.freeze({
  batchSize: 32,
  dtype: 'fp32' as DataType,
});

const DIMENSION_PROBE = 'dimension probe';

export class TransformersEmbeddings extends Embeddings {
  readonly model: string;
  readonly dimension: number;
  readonly dtype: DataType;
  private readonly batchSize: number;
  private extractor: FeatureExtractionPipeline | undefined;

  private constructor(
    extractor: FeatureExtractionPipeline,
    dimension: number,
    options: Required<TransformersEmbeddingsOptions>,
  ) {
    super({});
    this.extractor = extractor;
    this.dimension = dimension;
    this.model = options.model;
    this.dtype = options.dtype;
    this.batchSize = options.batchSize;
  }

  /** Loads the model (downloading it when allowed and missing) and measures its dimension. */
  static async load(
    settings: ModelLoadSettings,
    options: TransformersEmbeddingsOptions,
  ): Promise<TransformersEmbeddings> {
    const resolved = { ...DEFAULT_TRANSFORMERS_EMBEDDINGS_OPTIONS, ...definedOnly(options) };
    if (!Number.isInteger(resolved.batchSize) || resolved.batchSize < 1) {
      throw new RangeError(`batchSize must be a whole number above 0 (got ${resolved.batchSize})`);
    }
    const extractor = await loadTransformersModel(settings, (transformers) =>
      transformers.pipeline('feature-extraction', resolved.model, { dtype: resolved.dtype, device: 'cpu' }),
    );
    try {
      const [probe] = await runExtractor(extractor, [DIMENSION_PROBE]);
      return new TransformersEmbeddings(extractor, probe!.length, resolved);
    } catch (error) {
      await extractor.dispose();
      throw error;
    }
  }

  /** Identity of the vector space, recorded in the library manifest. */
  get id(): string {
    return `transformers:${this.model}${this.dtype === 'fp32' ? '' : `:${this.dtype}`}`;
  }

  async embedDocuments(documents: string[]): Promise<number[][]> {
    const extractor = this.openExtractor();
    const vectors: number[][] = [];
    for (let start = 0; start < documents.length; start += this.batchSize) {
      vectors.push(...(await runExtractor(extractor, documents.slice(start, start + this.batchSize))));
    }
    return vectors;
  }

  async embedQuery(document: string): Promise<number[]> {
    const [vector] = await runExtractor(this.openExtractor(), [document]);
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

async function runExtractor(extractor: FeatureExtractionPipeline, texts: string[]): Promise<number[][]> {
  if (texts.length === 0) return [];
  const output = await extractor(texts, { pooling: 'mean', normalize: true });
  return output.tolist() as number[][];
}
