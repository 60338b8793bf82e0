/**
 * How each supported sentence-embedding model must be run: its pooling, the prefixes its authors put before queries
 * and documents, how many tokens it was trained on, and whether its Hub repository ships int8 weights. Using a model
 * the wrong way (mean pooling for a CLS model, a query without BGE's instruction) costs retrieval quality silently,
 * so these facts live here, one entry per model, from the models' own cards (see docs/embedding-models.md).
 *
 * Adding a model is adding an entry. A model that has none is run as sentence-transformers models usually are (mean
 * pooling, no prefixes, normalized, the tokenizer's own length limit, fp32 weights).
 */

/** `mean`: the average of the token states the attention mask keeps; `cls`: the state of the first token. */
export type EmbeddingPooling = 'mean' | 'cls';

/** The weights transformers.js loads: fp32 is `onnx/model.onnx`, q8 is `onnx/model_quantized.onnx`. */
export type EmbeddingDtype = 'fp32' | 'q8';

export interface EmbeddingModelProfile {
  /** Vector length; checked against what the model returns when it loads. Unknown: whatever the model returns. */
  dimension?: number;
  pooling: EmbeddingPooling;
  /** Put before every query (a question, a search, a watched topic). */
  queryPrefix: string;
  /** Put before every document (a paper's title and abstract, a section of its full text). */
  documentPrefix: string;
  /** Longer texts are cut to this many tokens (special tokens included). Unknown: the tokenizer's own limit. */
  maxTokens?: number;
  /** L2-normalize the pooled vector (cosine similarity becomes a dot product, which the HNSW index uses). */
  normalize: boolean;
  /** Weights used unless EMBEDDING_DTYPE says otherwise: q8 where the repository ships them. */
  dtype: EmbeddingDtype;
  /**
   * Cosine at which the closest paper alone makes retrieval sure (MIN_DENSE_SIMILARITY replaces it). Models differ
   * widely: GTE and BGE put unrelated texts around 0.7, MiniLM below 0.3. None of these is measured here (no weights
   * offline); `papercord eval --calibrate` measures it on a question set once the model is downloaded.
   */
  minDenseSimilarity: number;
}

/** The retrieval instruction BGE v1.5 and Arctic Embed v1 models were trained with before queries (not documents). */
const RETRIEVAL_INSTRUCTION = 'Represent this sentence for searching relevant passages: ';

/**
 * A dense floor for models whose similarities nobody has looked at: the closest paper alone rarely makes retrieval
 * sure, so answers rest on the words matched until `papercord eval --calibrate` says otherwise.
 */
const UNCALIBRATED_DENSE_FLOOR = 0.9;

/** Models run by sentence-transformers defaults when they have no entry. */
export const GENERIC_EMBEDDING_PROFILE: Readonly<EmbeddingModelProfile> = Object.freeze({
  pooling: 'mean',
  queryPrefix: '',
  documentPrefix: '',
  normalize: true,
  dtype: 'fp32',
  minDenseSimilarity: UNCALIBRATED_DENSE_FLOOR,
});

/** The default model (EMBEDDING_MODEL): best SciFact and near-best SCIDOCS of the small models, see the docs table. */
export const DEFAULT_EMBEDDING_MODEL = 'Xenova/gte-small';

export const EMBEDDING_MODEL_PROFILES: Readonly<Record<string, Readonly<EmbeddingModelProfile>>> = Object.freeze({
  'Xenova/gte-small': {
    dimension: 384,
    pooling: 'mean',
    queryPrefix: '',
    documentPrefix: '',
    maxTokens: 512,
    normalize: true,
    dtype: 'q8',
    // Unrelated abstracts of one field sit around 0.75-0.8 with GTE models; related ones above.
    minDenseSimilarity: 0.86,
  },
  'Xenova/bge-small-en-v1.5': {
    dimension: 384,
    pooling: 'cls',
    queryPrefix: RETRIEVAL_INSTRUCTION,
    documentPrefix: '',
    maxTokens: 512,
    normalize: true,
    dtype: 'q8',
    // bge v1.5 still gives unrelated passages about 0.7 (qdrant/fastembed#74).
    minDenseSimilarity: 0.8,
  },
  'Snowflake/snowflake-arctic-embed-xs': {
    dimension: 384,
    pooling: 'cls',
    queryPrefix: RETRIEVAL_INSTRUCTION,
    documentPrefix: '',
    maxTokens: 512,
    normalize: true,
    dtype: 'q8',
    minDenseSimilarity: UNCALIBRATED_DENSE_FLOOR,
  },
  'Snowflake/snowflake-arctic-embed-s': {
    dimension: 384,
    pooling: 'cls',
    queryPrefix: RETRIEVAL_INSTRUCTION,
    documentPrefix: '',
    maxTokens: 512,
    normalize: true,
    dtype: 'q8',
    minDenseSimilarity: UNCALIBRATED_DENSE_FLOOR,
  },
  'mixedbread-ai/mxbai-embed-xsmall-v1': {
    dimension: 384,
    pooling: 'mean',
    queryPrefix: '',
    documentPrefix: '',
    // The model reads 4,096 tokens; abstracts never need more than 512, and attention cost grows with the square.
    maxTokens: 512,
    normalize: true,
    dtype: 'q8',
    minDenseSimilarity: UNCALIBRATED_DENSE_FLOOR,
  },
  // The default until 2026: fp32, so a library embedded with it keeps its vectors when EMBEDDING_MODEL names it.
  'Xenova/all-MiniLM-L6-v2': {
    dimension: 384,
    pooling: 'mean',
    queryPrefix: '',
    documentPrefix: '',
    // sentence-transformers truncates at 256 (its max_seq_length); the tokenizer file says 512.
    maxTokens: 256,
    normalize: true,
    dtype: 'fp32',
    // all-MiniLM-L6-v2 puts unrelated texts mostly below 0.3 (the value papercord used before profiles).
    minDenseSimilarity: 0.35,
  },
});

/** The profile of `model`: its entry, or the generic one. */
export function embeddingModelProfile(model: string): Readonly<EmbeddingModelProfile> {
  return EMBEDDING_MODEL_PROFILES[model] ?? GENERIC_EMBEDDING_PROFILE;
}
