import { definedOnly } from '../util/options.js';
import { BaseCallbackHandler } from '@langchain/core/callbacks/base';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';

/**
 * What papercord reports to Prometheus. Front ends and answering code call the `record…`/`start…` functions; the
 * health server serves `registry`. One `PapercordMetrics` per process: every shard or CLI run has its own registry,
 * so nothing leaks between tests either (prom-client's global registry is never used).
 */

/** How an interaction ended, from the user's side. */
export type InteractionOutcome = 'ok' | 'abstained' | 'user_error' | 'rate_limited' | 'error';

/** Why an LLM call failed; `llmErrorKind` derives it from the thrown value. */
export type LlmErrorKind = 'timeout' | 'rate_limited' | 'http' | 'network' | 'aborted' | 'other';

export interface PapercordMetrics {
  readonly registry: Registry;
  /** One finished slash command or CLI command. */
  recordInteraction(command: string, outcome: InteractionOutcome): void;
  /** Starts timing one answer; call the returned function once the answer is sent (or failed). */
  startAnswerTimer(): () => void;
  recordLlmError(provider: string, kind: LlmErrorKind): void;
  /** Where `papercord_library_papers` reads the paper count at each scrape (the library may load after start). */
  setPaperCountSource(count: () => number | Promise<number>): void;
}

export interface MetricsOptions {
  /** Process metrics (RSS, heap, event-loop lag, handles) under the `papercord_` prefix. */
  defaultMetrics?: boolean;
  paperCount?: () => number | Promise<number>;
}

export const DEFAULT_METRICS_OPTIONS: Readonly<Required<Pick<MetricsOptions, 'defaultMetrics'>>> = Object.freeze({
  defaultMetrics: true,
});

/** Answers take from well under a second (extractive) to tens of seconds (a slow local LLM). */
export const ANSWER_LATENCY_BUCKETS_SECONDS: readonly number[] = Object.freeze([
  0.05, 0.1, 0.25, 0.5, 1, 2, 5, 10, 20, 30, 60,
]);

export function createMetrics(options: MetricsOptions = {}): PapercordMetrics {
  const settings = { ...DEFAULT_METRICS_OPTIONS, ...definedOnly(options) };
  const registry = new Registry();
  if (settings.defaultMetrics) collectDefaultMetrics({ register: registry, prefix: 'papercord_' });

  const interactions = new Counter({
    name: 'papercord_interactions_total',
    help: 'Interactions handled, by command and outcome.',
    labelNames: ['command', 'outcome'] as const,
    registers: [registry],
  });
  const answerLatency = new Histogram({
    name: 'papercord_answer_latency_seconds',
    help: 'Time from receiving a question to sending its answer.',
    buckets: [...ANSWER_LATENCY_BUCKETS_SECONDS],
    registers: [registry],
  });
  const llmErrors = new Counter({
    name: 'papercord_llm_errors_total',
    help: 'Failed LLM calls, by provider and kind of failure.',
    labelNames: ['provider', 'kind'] as const,
    registers: [registry],
  });

  let paperCount = settings.paperCount;
  new Gauge({
    name: 'papercord_library_papers',
    help: 'Papers in the library.',
    registers: [registry],
    async collect() {
      if (paperCount) this.set(await paperCount());
    },
  });

  return {
    registry,
    recordInteraction: (command, outcome) => interactions.inc({ command, outcome }),
    startAnswerTimer: () => {
      const end = answerLatency.startTimer();
      let ended = false;
      // Once only: a retry path that calls it twice must not count one answer twice.
      return () => {
        if (ended) return;
        ended = true;
        end();
      };
    },
    recordLlmError: (provider, kind) => llmErrors.inc({ provider, kind }),
    setPaperCountSource: (count) => {
      paperCount = count;
    },
  };
}

/** Classifies a failed LLM call for `papercord_llm_errors_total`, from the shapes fetch, undici and LangChain throw. */
export function llmErrorKind(error: unknown): LlmErrorKind {
  if (!(error instanceof Error)) return 'other';
  if (error.name === 'TimeoutError') return 'timeout';
  if (error.name === 'AbortError') return /timed? ?out/i.test(error.message) ? 'timeout' : 'aborted';
  const status =
    (error as { status?: unknown }).status ?? (error as { response?: { status?: unknown } }).response?.status;
  if (status === 429) return 'rate_limited';
  if (typeof status === 'number') return 'http';
  // Clients wrap the socket error: OpenAI's "Connection error." → fetch's "fetch failed" → { code: 'ECONNREFUSED' }.
  for (let cause: unknown = error, depth = 0; cause instanceof Error && depth < 4; cause = cause.cause, depth += 1) {
    const code = (cause as { code?: unknown }).code;
    if (code === 'UND_ERR_HEADERS_TIMEOUT' || code === 'UND_ERR_BODY_TIMEOUT' || code === 'ETIMEDOUT') return 'timeout';
    if (
      typeof code === 'string' &&
      /^(ECONNREFUSED|ECONNRESET|ENOTFOUND|EAI_AGAIN|EHOSTUNREACH|EPIPE|UND_ERR_)/.test(code)
    ) {
      return 'network';
    }
  }
  if (/timed? ?out|timeout/i.test(error.message)) return 'timeout';
  if (/fetch failed|connection error|ECONNREFUSED|network/i.test(error.message)) return 'network';
  return 'other';
}

/**
 * A LangChain callback handler counting every failed LLM call in `papercord_llm_errors_total`. Attach it to the chat
 * model (`model.callbacks = [handler]`): answering code catches LLM errors to fall back to extractive answers, so
 * this is the one place that still sees each of them.
 */
export function llmErrorCallbacks(
  metrics: Pick<PapercordMetrics, 'recordLlmError'>,
  provider: string,
): BaseCallbackHandler {
  const handler = BaseCallbackHandler.fromMethods({
    handleLLMError: (error: unknown) => metrics.recordLlmError(provider, llmErrorKind(error)),
  });
  // Counted before the failing call returns, so a scrape right after a fallback answer already shows it.
  handler.awaitHandlers = true;
  return handler;
}
