import { definedOnly } from '../../util/options.js';
import type { Logger } from '../../logger.js';
import { describeError, UserError } from '../../errors.js';

/**
 * A feed could not be read: the network failed, the server kept answering with errors, or the body did not fit
 * the documented shape. The operator can fix it (point the base URL elsewhere, wait, retry), hence a UserError:
 * the CLI prints one line, the bot logs it and tries again on the next schedule.
 */
export class SourceError extends UserError {
  constructor(message: string, options: { cause?: unknown } = {}) {
    super(message, options);
  }
}

export interface FetchWithRetryOptions {
  signal?: AbortSignal;
  /** Per attempt; an attempt that takes longer is aborted and counts as a network error. */
  timeoutMs?: number;
  /** Total attempts, the first included. */
  attempts?: number;
  /** First backoff; doubled every attempt, with full jitter, capped at `maxDelayMs`. */
  baseDelayMs?: number;
  maxDelayMs?: number;
  headers?: Record<string, string>;
  logger?: Logger;
  /** Injected in tests that need a failing transport; the global fetch otherwise. */
  fetch?: typeof fetch;
  /** Jitter source, injected so retry delays are reproducible in tests. */
  random?: () => number;
  /** Statuses handed back to the caller instead of failing: 404 when "unknown paper" is an answer, not an error. */
  passStatuses?: readonly number[];
}

export const DEFAULT_FETCH_OPTIONS = {
  timeoutMs: 15_000,
  attempts: 4,
  baseDelayMs: 500,
  maxDelayMs: 30_000,
} as const;

const USER_AGENT = 'papercord (+https://github.com/papercord/papercord)';

/** 429 and 5xx are worth another try; other statuses will not change by retrying. */
function isRetryableStatus(status: number): boolean {
  return status === 429 || status >= 500;
}

/** `Retry-After` as seconds or an HTTP date, in milliseconds; undefined when absent or unreadable. */
export function parseRetryAfter(header: string | null, now: number = Date.now()): number | undefined {
  if (!header) return undefined;
  const seconds = Number(header);
  if (Number.isFinite(seconds) && seconds >= 0) return seconds * 1000;
  const at = Date.parse(header);
  return Number.isNaN(at) ? undefined : Math.max(0, at - now);
}

/** Waits `ms`, or rejects with the signal's reason as soon as it aborts (the retry loops' and pacers' wait). */
export function sleep(ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const timer = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    const onAbort = () => {
      clearTimeout(timer);
      reject(signal!.reason);
    };
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/**
 * GET `url` and return the successful response. Network errors, timeouts, 429 and 5xx are retried with exponential
 * backoff and full jitter (honouring `Retry-After`), up to `attempts`; other statuses fail at once. Failures throw a
 * SourceError naming the URL, the attempts made and the last cause. An abort from `signal` is rethrown as is.
 */
export async function fetchWithRetry(url: string, options: FetchWithRetryOptions = {}): Promise<Response> {
  const settings = { ...DEFAULT_FETCH_OPTIONS, ...definedOnly(options) };
  const fetchImpl = settings.fetch ?? fetch;
  const random = settings.random ?? Math.random;
  let lastProblem = '';
  for (let attempt = 1; attempt <= settings.attempts; attempt++) {
    settings.signal?.throwIfAborted();
    const attemptSignal = settings.signal
      ? AbortSignal.any([settings.signal, AbortSignal.timeout(settings.timeoutMs)])
      : AbortSignal.timeout(settings.timeoutMs);
    let retryAfterMs: number | undefined;
    try {
      const response = await fetchImpl(url, {
        signal: attemptSignal,
        headers: { 'user-agent': USER_AGENT, ...settings.headers },
      });
      if (response.ok || settings.passStatuses?.includes(response.status)) return response;
      // Drain the body so the connection can be reused.
      await response.body?.cancel().catch(() => undefined);
      lastProblem = `HTTP ${response.status}`;
      if (!isRetryableStatus(response.status)) {
        throw new SourceError(`GET ${url} failed: HTTP ${response.status}`);
      }
      retryAfterMs = parseRetryAfter(response.headers.get('retry-after'));
    } catch (error) {
      if (error instanceof SourceError) throw error;
      if (settings.signal?.aborted) throw settings.signal.reason;
      lastProblem = networkProblem(error, settings.timeoutMs);
    }
    if (attempt === settings.attempts) break;
    const backoff = Math.min(settings.maxDelayMs, settings.baseDelayMs * 2 ** (attempt - 1));
    const delay = Math.min(settings.maxDelayMs, retryAfterMs ?? Math.round(backoff * random()));
    settings.logger?.warn({ url, attempt, delayMs: delay, problem: lastProblem }, 'feed request failed, retrying');
    await sleep(delay, settings.signal);
  }
  throw new SourceError(`GET ${url} failed after ${settings.attempts} attempts: ${lastProblem}`);
}

function networkProblem(error: unknown, timeoutMs: number): string {
  if (error instanceof DOMException && error.name === 'TimeoutError') return `no answer within ${timeoutMs} ms`;
  // undici puts the useful part (ECONNREFUSED, ENOTFOUND) in `cause`.
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
  return code ?? (cause ? describeError(cause) : describeError(error));
}
