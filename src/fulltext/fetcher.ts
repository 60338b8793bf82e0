import type { Logger } from '../logger.js';
import { silentLogger } from '../logger.js';
import { describeError } from '../errors.js';
import type { FullTextDocument } from './document.js';
import { NotLatexmlError, parseLatexml } from './latexml.js';
import { processArxivPacer, type ArxivPacer } from '../papers/sources/arxivPacing.js';
import { sleep } from '../papers/sources/http.js';
import { waitOrAbort } from '../util/abort.js';

/**
 * Fetches a paper's body from arXiv: the LaTeXML HTML rendering first, the PDF when there is none. One request at a
 * time for the whole process, with polite spacing between background requests (arXiv asks bulk clients for about one
 * request every 3 seconds). Nothing is retried here: a question cannot wait, and the background queue tries again
 * later.
 */

/** Why a paper has no full text. `retryable` problems (a timeout, a 429, a 5xx) may pass; the others will not. */
export class FullTextUnavailableError extends Error {
  override readonly name = 'FullTextUnavailableError';
  constructor(
    message: string,
    readonly retryable: boolean,
    options: { cause?: unknown; retryAfterMs?: number } = {},
  ) {
    super(message, { cause: options.cause });
    this.retryAfterMs = options.retryAfterMs;
  }
  readonly retryAfterMs: number | undefined;
}

/** Reads a PDF's text into sections with page numbers (the PDF reader of `src/papers/pdf.ts`). */
export type PdfToDocument = (bytes: Uint8Array, options: { signal?: AbortSignal }) => Promise<FullTextDocument>;

export interface FetchOptions {
  signal?: AbortSignal;
  /** Background work: waits out the spacing since the last request. */
  polite?: boolean;
  /** Per request, counted from when it is sent (not while it waits its turn). */
  timeoutMs?: number;
}

export interface FetchedFullText {
  document: FullTextDocument;
  url: string;
}

export interface ArxivFullTextFetcherOptions {
  htmlBase: string;
  pdfBase: string;
  /** Turns PDF bytes into a document; without it a paper with no HTML has no full text. */
  readPdf?: PdfToDocument;
  /** Least time between the starts of two background requests. */
  spacingMs?: number;
  /** Larger responses are refused (a runaway page, a scanned book). */
  maxBytes?: number;
  logger?: Logger;
  /** Injected in tests that need a failing transport. */
  fetch?: typeof fetch;
  /** Where request starts are reserved: the whole process's by default, shared with the API client and every thread. */
  pacer?: ArxivPacer;
}

export const DEFAULT_FETCHER_OPTIONS: Readonly<{ spacingMs: number; maxBytes: number }> = Object.freeze({
  spacingMs: 3000,
  maxBytes: 40 * 1024 * 1024,
});

const USER_AGENT = 'papercord (+https://github.com/papercord/papercord)';

export class ArxivFullTextFetcher {
  private readonly options: ArxivFullTextFetcherOptions & typeof DEFAULT_FETCHER_OPTIONS;
  private readonly logger: Logger;
  /** The tail of the one-at-a-time queue of requests. */
  private gate: Promise<void> = Promise.resolve();
  private readonly pacer: ArxivPacer;

  constructor(options: ArxivFullTextFetcherOptions) {
    this.options = { ...DEFAULT_FETCHER_OPTIONS, ...options };
    this.logger = options.logger ?? silentLogger();
    this.pacer = options.pacer ?? processArxivPacer();
  }

  /**
   * The paper's body. `polite` (background work) waits out the spacing since the last request; a question does not.
   * Throws FullTextUnavailableError with a reason a user can read; an abort from `signal` is rethrown as is.
   */
  async fetch(arxivId: string, options: FetchOptions = {}): Promise<FetchedFullText> {
    const id = encodeURIComponent(arxivId).replace(/%2F/gi, '/');
    const htmlUrl = `${this.options.htmlBase}/${id}`;
    const html = await this.request(htmlUrl, options);
    let htmlProblem: string;
    if (html.ok) {
      try {
        return { document: parseLatexml(new TextDecoder().decode(html.body)), url: htmlUrl };
      } catch (error) {
        if (!(error instanceof NotLatexmlError)) throw error;
        htmlProblem = error.message;
      }
    } else htmlProblem = `no HTML rendering (HTTP ${html.status})`;
    this.logger.debug({ arxivId, problem: htmlProblem }, 'no usable HTML; trying the PDF');
    if (!this.options.readPdf)
      throw new FullTextUnavailableError(`${htmlProblem}, and PDF reading is not available`, false);
    const pdfUrl = `${this.options.pdfBase}/${id}`;
    const pdf = await this.request(pdfUrl, options);
    if (!pdf.ok) throw new FullTextUnavailableError(`${htmlProblem}, and no PDF (HTTP ${pdf.status})`, false);
    try {
      const document = await this.options.readPdf(pdf.body, { signal: options.signal });
      return { document: { ...document, source: 'pdf' }, url: pdfUrl };
    } catch (error) {
      if (options.signal?.aborted) throw options.signal.reason;
      throw new FullTextUnavailableError(
        `${htmlProblem}, and the PDF could not be read (${describeError(error)})`,
        false,
        { cause: error },
      );
    }
  }

  /** One GET through the gate: 200 gives the body, 404/410 say "not there"; anything else throws. */
  private async request(
    url: string,
    options: FetchOptions,
  ): Promise<{ ok: true; body: Uint8Array } | { ok: false; status: number }> {
    const previous = this.gate;
    let release!: () => void;
    this.gate = new Promise((resolve) => (release = resolve));
    try {
      await waitOrAbort(previous, options.signal);
      if (options.polite) {
        const wait = this.pacer.reserve(this.options.spacingMs);
        if (wait > 0) await sleep(wait, options.signal);
      } else this.pacer.mark();
      if (options.timeoutMs === undefined) return await this.get(url, options.signal);
      const timeout = AbortSignal.timeout(options.timeoutMs);
      const signal = options.signal ? AbortSignal.any([options.signal, timeout]) : timeout;
      try {
        return await this.get(url, signal);
      } catch (error) {
        if (timeout.aborted && !options.signal?.aborted) {
          throw new FullTextUnavailableError(`arXiv did not answer within ${options.timeoutMs} ms`, true, {
            cause: error,
          });
        }
        throw error;
      }
    } finally {
      // Released only once the previous holder is done, so an aborted waiter cannot let two requests overlap.
      void previous.then(release);
    }
  }

  private async get(
    url: string,
    signal: AbortSignal | undefined,
  ): Promise<{ ok: true; body: Uint8Array } | { ok: false; status: number }> {
    const response = await sendWithinHost(this.options.fetch ?? fetch, url, signal);
    if (response.status === 404 || response.status === 410) {
      await response.body?.cancel().catch(() => undefined);
      return { ok: false, status: response.status };
    }
    if (!response.ok) {
      await response.body?.cancel().catch(() => undefined);
      const retryAfterHeader = response.headers.get('retry-after');
      const retryAfter = retryAfterHeader === null ? Number.NaN : Number(retryAfterHeader);
      const why =
        response.status === 429
          ? 'arXiv asked papercord to slow down (HTTP 429)'
          : `arXiv answered HTTP ${response.status}`;
      throw new FullTextUnavailableError(why, response.status === 429 || response.status >= 500, {
        ...(Number.isFinite(retryAfter) && retryAfter >= 0 ? { retryAfterMs: retryAfter * 1000 } : {}),
      });
    }
    const declared = Number(response.headers.get('content-length'));
    if (Number.isFinite(declared) && declared > this.options.maxBytes) {
      await response.body?.cancel().catch(() => undefined);
      throw new FullTextUnavailableError(`the paper is too large (${Math.round(declared / 1e6)} MB)`, false);
    }
    return { ok: true, body: await readCapped(response, this.options.maxBytes, signal) };
  }
}

const MAX_REDIRECTS = 5;

/**
 * One GET with redirects followed by hand, and only on the host asked: a redirect elsewhere is refused before
 * anything is sent there (fetch's own `redirect: 'follow'` would request it first and let us look only afterwards).
 */
async function sendWithinHost(
  fetchImpl: typeof fetch,
  url: string,
  signal: AbortSignal | undefined,
): Promise<Response> {
  const host = new URL(url).host;
  let current = url;
  for (let redirects = 0; ; redirects += 1) {
    let response: Response;
    try {
      response = await fetchImpl(current, {
        signal,
        redirect: 'manual',
        headers: { 'user-agent': USER_AGENT, accept: 'text/html,application/pdf' },
      });
    } catch (error) {
      if (signal?.aborted) throw signal.reason;
      throw new FullTextUnavailableError(`arXiv could not be reached (${networkProblem(error)})`, true, {
        cause: error,
      });
    }
    const location = response.status >= 300 && response.status < 400 ? response.headers.get('location') : null;
    if (location === null) return response;
    await response.body?.cancel().catch(() => undefined);
    const next = new URL(location, current);
    if (next.host !== host)
      throw new FullTextUnavailableError(`arXiv redirected to another host (${next.host}); not followed`, false);
    if (redirects >= MAX_REDIRECTS)
      throw new FullTextUnavailableError(`arXiv redirected more than ${MAX_REDIRECTS} times; not followed`, false);
    current = next.href;
  }
}

async function readCapped(response: Response, maxBytes: number, signal: AbortSignal | undefined): Promise<Uint8Array> {
  const parts: Uint8Array[] = [];
  let total = 0;
  try {
    for await (const part of response.body ?? []) {
      total += part.byteLength;
      if (total > maxBytes) {
        await response.body?.cancel().catch(() => undefined);
        throw new FullTextUnavailableError(`the paper is too large (over ${Math.round(maxBytes / 1e6)} MB)`, false);
      }
      parts.push(part);
    }
  } catch (error) {
    if (error instanceof FullTextUnavailableError) throw error;
    if (signal?.aborted) throw signal.reason;
    throw new FullTextUnavailableError(`the download broke off (${networkProblem(error)})`, true, { cause: error });
  }
  const body = new Uint8Array(total);
  let offset = 0;
  for (const part of parts) {
    body.set(part, offset);
    offset += part.byteLength;
  }
  return body;
}

function networkProblem(error: unknown): string {
  const cause = error instanceof Error && error.cause instanceof Error ? error.cause : undefined;
  const code = cause && 'code' in cause ? String((cause as { code: unknown }).code) : undefined;
  return code ?? describeError(cause ?? error);
}
