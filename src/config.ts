import { existsSync } from 'node:fs';
import { z } from 'zod';

/**
 * The one place that reads the environment. Every setting papercord has is here, validated once at start;
 * everything else receives the frozen `Config`.
 */

const booleanFlag = z
  .enum(['true', 'false', '1', '0', 'yes', 'no'], {
    errorMap: () => ({ message: 'expected true or false' }),
  })
  .transform((value) => value === 'true' || value === '1' || value === 'yes');

const positiveInt = z.coerce
  .number({ invalid_type_error: 'expected a whole number' })
  .int('expected a whole number')
  .positive('expected a number above 0');

const nonNegativeNumber = z.coerce.number({ invalid_type_error: 'expected a number' }).min(0, 'expected 0 or more');

const unitInterval = z.coerce
  .number({ invalid_type_error: 'expected a number from 0 to 1' })
  .min(0, 'expected a number from 0 to 1')
  .max(1, 'expected a number from 0 to 1');

const httpUrl = z
  .string()
  .url('expected a URL such as http://127.0.0.1:8080')
  .refine((value) => /^https?:\/\//.test(value), 'expected an http:// or https:// URL')
  .transform((value) => value.replace(/\/+$/, ''));

const port = z.coerce
  .number({ invalid_type_error: 'expected a port number' })
  .int('expected a port number')
  .min(0, 'expected a port from 0 to 65535')
  .max(65535, 'expected a port from 0 to 65535');

const oneOf = <const T extends readonly [string, ...string[]]>(values: T) =>
  z.enum(values, { errorMap: () => ({ message: `expected one of ${values.join(', ')}` }) });

/** Empty strings count as unset, as they do in most .env files and compose files. */
const optional = <T extends z.ZodTypeAny>(schema: T) =>
  z.preprocess((value) => (value === '' ? undefined : value), schema.optional());

const withDefault = <T extends z.ZodTypeAny>(schema: T, fallback: string) =>
  z.preprocess((value) => (value === '' || value === undefined ? fallback : value), schema);

export const configSchema = z.object({
  // Storage and logging.
  DATA_DIR: withDefault(z.string(), './data'),
  LOG_LEVEL: withDefault(oneOf(['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'] as const), 'info'),

  // Embeddings (transformers.js, with an offline fallback).
  EMBEDDINGS: withDefault(oneOf(['auto', 'transformers', 'hashing'] as const), 'auto'),
  /** Hugging Face model id; the models with a profile (src/embeddings/profiles.ts) run with their own pooling and prefixes. */
  EMBEDDING_MODEL: withDefault(z.string().min(1), 'Xenova/gte-small'),
  /** Weights: `auto` takes the model profile's (int8 where the model ships them), else fp32 or q8. */
  EMBEDDING_DTYPE: withDefault(oneOf(['auto', 'fp32', 'q8'] as const), 'auto'),
  MODEL_CACHE_DIR: withDefault(z.string(), './models'),
  ALLOW_REMOTE_MODELS: withDefault(booleanFlag, 'true'),
  /** Where transformers.js downloads models from; a mirror or a loopback server in tests. */
  MODEL_REMOTE_HOST: withDefault(httpUrl, 'https://huggingface.co'),
  /** A model download that has not started by then is abandoned (offline machines must not hang). */
  MODEL_LOAD_TIMEOUT_MS: withDefault(positiveInt, '15000'),

  // Retrieval.
  RERANKER: withDefault(oneOf(['auto', 'transformers', 'off'] as const), 'off'),
  RERANK_MODEL: withDefault(z.string().min(1), 'Xenova/ms-marco-MiniLM-L-6-v2'),
  /** Weight of the dense side in hybrid fusion, 0 to 1; unset: 0.05 for the hashing embedder, 0.5 for transformers. */
  DENSE_WEIGHT: optional(unitInterval),
  /** Cosine at which the closest paper alone makes retrieval sure; unset: 0.21 hashing, 0.35 transformers. */
  MIN_DENSE_SIMILARITY: optional(unitInterval),
  /**
   * Candidates the HNSW search keeps (hnswlib's ef locally, `hnsw.ef_search` in PostgreSQL): higher finds the exact
   * nearest papers more often and costs more per query. Read when a library opens.
   */
  HNSW_EF_SEARCH: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a whole number from 10 to 5000' })
      .int('expected a whole number from 10 to 5000')
      .min(10, 'expected a whole number from 10 to 5000')
      .max(5000, 'expected a whole number from 10 to 5000'),
    '128',
  ),

  /**
   * Candidates HNSW keeps while inserting, for graphs built from now on (an existing graph keeps its own): higher is
   * a slightly better graph, built more slowly.
   */
  HNSW_EF_CONSTRUCTION: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a whole number from 16 to 2000' })
      .int('expected a whole number from 16 to 2000')
      .min(16, 'expected a whole number from 16 to 2000')
      .max(2000, 'expected a whole number from 16 to 2000'),
    '100',
  ),

  /**
   * Which build of hnswlib runs the HNSW graph: `auto` the fastest this CPU supports (AVX-512, AVX2, else the stock
   * SSE build), `avx512`/`avx2` that build or an error at start, `off` the stock build.
   */
  HNSW_SIMD: withDefault(oneOf(['auto', 'avx512', 'avx2', 'off'] as const), 'auto'),

  // LLM backends.
  LLM_PROVIDER: withDefault(oneOf(['none', 'openai', 'ollama'] as const), 'none'),
  LLM_BASE_URL: optional(httpUrl),
  LLM_API_KEY: optional(z.string()),
  LLM_MODEL: optional(z.string().min(1)),
  OLLAMA_BASE_URL: withDefault(httpUrl, 'http://127.0.0.1:11434'),
  LLM_TIMEOUT_MS: withDefault(positiveInt, '30000'),

  // Discord.
  DISCORD_TOKEN: optional(z.string().min(1)),
  DISCORD_GUILD_ID: optional(z.string().regex(/^\d{15,25}$/, 'expected a server (guild) id, a long number')),
  DISCORD_API_BASE: withDefault(httpUrl, 'https://discord.com/api'),
  /** Hosts PDF attachments are downloaded from (Discord's CDN); comma-separated host names, no redirects elsewhere. */
  DISCORD_ATTACHMENT_HOSTS: withDefault(
    z
      .string()
      .transform((value) =>
        value
          .split(',')
          .map((host) => host.trim().toLowerCase())
          .filter(Boolean),
      )
      .refine((hosts) => hosts.length > 0, 'expected host names such as cdn.discordapp.com,media.discordapp.net'),
    'cdn.discordapp.com,media.discordapp.net',
  ),
  /**
   * Seconds for one question of a member's allowance to come back (/ask, /compare, mentions; /paper and /trending now
   * with a model); 0: no limit. A token bucket: ASK_BURST questions in a row, then one per this many seconds.
   */
  ASK_COOLDOWN_SECONDS: withDefault(nonNegativeNumber, '10'),
  ASK_BURST: withDefault(positiveInt, '3'),
  MAX_CONCURRENT_ANSWERS: withDefault(positiveInt, '4'),
  /** Library worker threads of the bot (retrieval, answers, ingest); 0 does that work on the thread that talks to Discord. */
  WORKER_THREADS: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a whole number from 0 to 16' })
      .int('expected a whole number from 0 to 16')
      .min(0, 'expected a whole number from 0 to 16')
      .max(16, 'expected a whole number from 0 to 16'),
    '1',
  ),

  // Limits on bringing papers in (/add, the message command, link pickup).
  /** Papers one /add or message command takes; the rest are listed as not added. */
  ADD_MAX_PAPERS: withDefault(positiveInt, '20'),
  /** A member's allowance of papers to add: ADD_BURST at once, then one more every ADD_COOLDOWN_SECONDS; 0: no limit. */
  ADD_COOLDOWN_SECONDS: withDefault(nonNegativeNumber, '30'),
  ADD_BURST: withDefault(positiveInt, '20'),
  /** The same allowance per channel for papers picked up from posted links and PDFs. */
  LINK_PICKUP_COOLDOWN_SECONDS: withDefault(nonNegativeNumber, '30'),
  LINK_PICKUP_BURST: withDefault(positiveInt, '20'),
  /** Intake requests one bot process works on at once (each is looked up, read and embedded in a library worker). */
  INTAKE_CONCURRENCY: withDefault(positiveInt, '1'),
  /** Intake requests that may wait for their turn; beyond that members are told "busy, try again in N s". */
  INTAKE_QUEUE_MAX: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a whole number' })
      .int('expected a whole number')
      .min(0, 'expected 0 or more'),
    '10',
  ),

  /** The PDFs kept beside the library (`DATA_DIR/pdfs`) may take up to this many MB; past it, uploads are refused. */
  PDF_STORE_MAX_MB: withDefault(positiveInt, '1024'),

  /** Longer titles and abstracts are cut (at a word, ending in "…") when a paper is added, whatever brought it in. */
  PAPER_MAX_TITLE_CHARS: withDefault(positiveInt, '500'),
  PAPER_MAX_ABSTRACT_CHARS: withDefault(positiveInt, '10000'),
  /** A paper file `papercord ingest` reads whole (BibTeX, CSL-JSON, JSON, seed pages) may hold this many MB. */
  IMPORT_MAX_FILE_MB: withDefault(positiveInt, '50'),
  /** One BibTeX entry or CSL-JSON item may hold this many KB; a larger one is skipped, saying so, the others kept. */
  IMPORT_MAX_ENTRY_KB: withDefault(positiveInt, '64'),

  // Trending posts.
  HF_API_BASE: withDefault(httpUrl, 'https://huggingface.co'),
  ARXIV_API_BASE: withDefault(httpUrl, 'https://export.arxiv.org'),
  ARXIV_CATEGORY: withDefault(
    z.string().regex(/^[a-z-]+(\.[A-Za-z-]+)?$/, 'expected an arXiv category such as cs.CL'),
    'cs.CL',
  ),
  /** arXiv asks API clients to wait 3 s between requests; tests against a loopback server set 0. */
  ARXIV_REQUEST_INTERVAL_MS: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a number of milliseconds' })
      .int('expected a whole number')
      .min(0, 'expected 0 or more'),
    '3000',
  ),
  TRENDING_SOURCE: withDefault(oneOf(['hf', 'arxiv', 'seeds'] as const), 'hf'),
  TRENDING_GRACE_HOURS: withDefault(nonNegativeNumber, '6'),

  // Full text of papers (arXiv's LaTeXML HTML rendering, else the PDF).
  /** `{ARXIV_HTML_BASE}/{id}` is a paper's HTML rendering. */
  ARXIV_HTML_BASE: withDefault(httpUrl, 'https://arxiv.org/html'),
  /** `{ARXIV_PDF_BASE}/{id}` is a paper's PDF, fetched when there is no HTML rendering. */
  ARXIV_PDF_BASE: withDefault(httpUrl, 'https://arxiv.org/pdf'),
  /** `off`: nothing is fetched and answers draw on abstracts only. */
  FULL_TEXT: withDefault(oneOf(['on', 'off'] as const), 'on'),
  /** How long a question may wait for a paper's full text before it is answered from the abstract. */
  FULL_TEXT_TIMEOUT_MS: withDefault(positiveInt, '8000'),

  // The paper graph: references and citations (Semantic Scholar, else OpenAlex, else the paper's own bibliography).
  /** `{S2_API_BASE}/graph/v1/paper/arXiv:{id}` and its `/references` and `/citations`. */
  S2_API_BASE: withDefault(httpUrl, 'https://api.semanticscholar.org'),
  /** Semantic Scholar API key, sent as the `x-api-key` header (a higher, dedicated rate limit); never logged. */
  S2_API_KEY: optional(z.string().min(1)),
  /** Least time between two Semantic Scholar requests of one process (about one a second is allowed); tests set 0. */
  S2_REQUEST_INTERVAL_MS: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a number of milliseconds' })
      .int('expected a whole number')
      .min(0, 'expected 0 or more'),
    '1000',
  ),
  /** OpenAlex, asked when Semantic Scholar fails or does not know a paper. */
  OPENALEX_API_BASE: withDefault(httpUrl, 'https://api.openalex.org'),
  /** A paper's cached references and citations are fetched again when older than this; until then the cache answers. */
  GRAPH_REFRESH_HOURS: withDefault(positiveInt, '168'),

  // PDFs from anyone (uploads, `papercord add file.pdf`, arXiv PDFs): each is read in a child process with these limits.
  /** A PDF with more pages is refused before any page is read. */
  PDF_MAX_PAGES: withDefault(positiveInt, '300'),
  /** Bytes of a PDF read from an upload or a file, whatever size it declares (25 MB, Discord's attachment limit). */
  PDF_MAX_BYTES: withDefault(positiveInt, String(25 * 1024 * 1024)),
  /** What a PDF's streams (images aside) may inflate to: a decompression bomb is refused before it is parsed. */
  PDF_MAX_DECOMPRESSED_MB: withDefault(positiveInt, '200'),
  /** Resident memory of the child reading one PDF; over it the child is killed and the PDF refused. */
  PDF_PARSE_MEMORY_MB: withDefault(
    z.coerce
      .number({ invalid_type_error: 'expected a whole number of megabytes, 64 or more' })
      .int('expected a whole number of megabytes, 64 or more')
      .min(64, 'expected a whole number of megabytes, 64 or more'),
    '512',
  ),
  /** Wall-clock time for reading one PDF; over it the child is killed and the PDF refused. */
  PDF_PARSE_TIMEOUT_MS: withDefault(positiveInt, '20000'),

  // Operations.
  HEALTH_PORT: optional(port),
  /** Loopback unless a container or orchestrator must reach /healthz and /metrics (the image sets 0.0.0.0). */
  HEALTH_HOST: withDefault(z.string().min(1), '127.0.0.1'),
  PLAYGROUND_PORT: withDefault(port, '3000'),
  PLAYGROUND_HOST: withDefault(z.string().min(1), '127.0.0.1'),
  SHARDS: optional(positiveInt),
  /** Set in each shard process by discord.js's ShardingManager (never by hand): which shard of SHARDS this one is. */
  SHARD_ID: optional(z.coerce.number().int().min(0)),
  VECTOR_STORE: withDefault(oneOf(['hnsw', 'pgvector'] as const), 'hnsw'),
  DATABASE_URL: optional(z.string().regex(/^postgres(ql)?:\/\//, 'expected a postgres:// connection URL')),
});

export type Config = Readonly<z.output<typeof configSchema>>;

/** Variables whose values must never be printed, not even in a validation error. */
const SECRET_VARIABLES = new Set(['DISCORD_TOKEN', 'LLM_API_KEY', 'DATABASE_URL', 'S2_API_KEY']);

export class ConfigError extends Error {
  override readonly name = 'ConfigError';
}

/**
 * Validates the environment. A bad value throws a ConfigError whose message is one line naming the variable
 * and what is wrong, e.g. `LLM_TIMEOUT_MS: expected a whole number (got "soon")`.
 */
export function loadConfig(env: Record<string, string | undefined> = readEnvironment()): Config {
  // In a shard process, discord.js's ShardingManager sets SHARDS to the shard's id and SHARD_COUNT to the count.
  const sharded = env.SHARDING_MANAGER === 'true';
  const parsed = configSchema.safeParse({
    ...env,
    SHARDS: sharded ? env.SHARD_COUNT : env.SHARDS,
    SHARD_ID: sharded ? env.SHARDS : undefined,
  });
  if (!parsed.success) {
    const issue = parsed.error.issues[0]!;
    const variable = String(issue.path[0] ?? 'environment');
    const raw = env[variable];
    const shown = raw === undefined || SECRET_VARIABLES.has(variable) ? '' : ` (got ${JSON.stringify(raw)})`;
    throw new ConfigError(`${variable}: ${issue.message}${shown}`);
  }
  return Object.freeze(parsed.data);
}

/** `process.env`, after loading `./.env` when present (values already in the environment win). */
export function readEnvironment(envFile = '.env'): Record<string, string | undefined> {
  if (existsSync(envFile)) {
    const before = { ...process.env };
    process.loadEnvFile(envFile);
    Object.assign(process.env, before);
  }
  return process.env;
}
