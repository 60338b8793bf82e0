import { definedOnly } from '../util/options.js';
import type { PreTrainedModel, PreTrainedTokenizer } from '@huggingface/transformers';
import type { Config } from '../config.js';
import { modelLoadSettings, loadTransformersModel } from '../embeddings/model-loading.js';
import { UserError, describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { RetrievedPaper } from './types.js';

/** Reorders retrieved papers by a finer relevance judgment than the first-stage retrieval. */
export interface Reranker {
  /** Stable identity, e.g. `transformers:Xenova/ms-marco-MiniLM-L-6-v2`. */
  readonly id: string;
  /** Same papers, best first, `score` replaced by the reranker's. */
  rerank(query: string, hits: readonly RetrievedPaper[], options?: { signal?: AbortSignal }): Promise<RetrievedPaper[]>;
  close(): Promise<void>;
}

export interface CrossEncoderOptions {
  /** Hub id of a sequence-classification cross-encoder (one relevance logit per query/passage pair). */
  model: string;
  /** Pairs per forward pass. */
  batchSize: number;
  /** Longest input in tokens; abstracts beyond it are cut, as the model was trained on passages. */
  maxLength: number;
}

export const DEFAULT_CROSS_ENCODER_OPTIONS: Readonly<Omit<CrossEncoderOptions, 'model'>> = Object.freeze({
  batchSize: 16,
  maxLength: 512,
});

/**
 * A transformers.js cross-encoder (`AutoTokenizer` + `AutoModelForSequenceClassification`), e.g. the MS MARCO
 * MiniLM rerankers: it reads query and abstract together, so it judges relevance better than comparing two
 * separately made vectors, at the cost of one forward pass per candidate.
 */
export class CrossEncoderReranker implements Reranker {
  readonly id: string;
  private tokenizer: PreTrainedTokenizer;
  private model: PreTrainedModel | undefined;
  private readonly options: CrossEncoderOptions;

  private constructor(tokenizer: PreTrainedTokenizer, model: PreTrainedModel, options: CrossEncoderOptions) {
    this.tokenizer = tokenizer;
    this.model = model;
    this.options = options;
    this.id = `transformers:${options.model}`;
  }

  static async load(
    settings: Parameters<typeof loadTransformersModel>[0],
    options: Pick<CrossEncoderOptions, 'model'> & Partial<CrossEncoderOptions>,
  ): Promise<CrossEncoderReranker> {
    const resolved: CrossEncoderOptions = { ...DEFAULT_CROSS_ENCODER_OPTIONS, ...definedOnly(options) };
    let tokenizer: PreTrainedTokenizer | undefined;
    const model = await loadTransformersModel(settings, async (transformers) => {
      tokenizer = await transformers.AutoTokenizer.from_pretrained(resolved.model);
      return transformers.AutoModelForSequenceClassification.from_pretrained(resolved.model, {
        dtype: 'fp32',
        device: 'cpu',
      });
    });
    return new CrossEncoderReranker(tokenizer!, model, resolved);
  }

  async rerank(
    query: string,
    hits: readonly RetrievedPaper[],
    options: { signal?: AbortSignal } = {},
  ): Promise<RetrievedPaper[]> {
    const model = this.model;
    if (!model) throw new Error('the reranker is closed');
    const scored: RetrievedPaper[] = [];
    for (let start = 0; start < hits.length; start += this.options.batchSize) {
      options.signal?.throwIfAborted();
      const batch = hits.slice(start, start + this.options.batchSize);
      const inputs = this.tokenizer(
        batch.map(() => query),
        {
          text_pair: batch.map((hit) => `${hit.paper.title}. ${hit.paper.abstract}`),
          padding: true,
          truncation: true,
          max_length: this.options.maxLength,
        },
      );
      const { logits } = (await model(inputs)) as { logits: { data: ArrayLike<number>; dims: number[] } };
      // One logit per pair (MS MARCO cross-encoders); with two classes, the second is "relevant".
      const columns = logits.dims[1] ?? 1;
      batch.forEach((hit, index) => {
        scored.push({ paper: hit.paper, score: Number(logits.data[index * columns + (columns - 1)]) });
      });
    }
    return scored.sort((left, right) => right.score - left.score);
  }

  async close(): Promise<void> {
    const model = this.model;
    this.model = undefined;
    await model?.dispose();
  }
}

type RerankerFactory = (config: Config, options: CreateRerankerOptions) => Promise<Reranker>;

export interface CreateRerankerOptions {
  signal?: AbortSignal;
  /** A folder holding `<model id>/` directories, searched before the cache and the remote host (tests use it). */
  localModelPath?: string;
}

/** Rerankers by the name `RERANKER` uses. Adding one is adding an entry. */
export const RERANKER_FACTORIES: Readonly<Record<'transformers', RerankerFactory>> = {
  transformers: (config, options) =>
    CrossEncoderReranker.load(modelLoadSettings(config, options), { model: config.RERANK_MODEL }),
};

/**
 * The reranker `RERANKER` asks for: `off` → none; `transformers` → the cross-encoder `RERANK_MODEL` or a
 * UserError saying what to do; `auto` → the cross-encoder when it loads, else one warning and no reranking.
 */
export async function createReranker(
  config: Config,
  logger: Logger,
  options: CreateRerankerOptions = {},
): Promise<Reranker | undefined> {
  if (config.RERANKER === 'off') return undefined;
  try {
    return await RERANKER_FACTORIES.transformers(config, options);
  } catch (error) {
    if (options.signal?.aborted) throw error;
    const reason = describeError(error).split('\n')[0];
    if (config.RERANKER === 'transformers') {
      throw new UserError(
        `rerank model ${config.RERANK_MODEL} could not be loaded (${reason}); put it in MODEL_CACHE_DIR, allow downloads, or set RERANKER=off.`,
        { cause: error },
      );
    }
    logger.warn(`rerank model ${config.RERANK_MODEL} could not be loaded (${reason}); answering without reranking.`);
    return undefined;
  }
}
