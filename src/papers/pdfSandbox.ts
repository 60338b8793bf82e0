import { fork, type ChildProcess } from 'node:child_process';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { Config } from '../config.js';
import { waitOrAbort } from '../util/abort.js';
import { megabytes, PdfReadError, type PdfDocumentText, type PdfProblem, type ReadPdfOptions } from './pdf.js';

/**
 * PDFs are read in a child process, one at a time, never in the process that answers questions: pdf.js decodes a
 * stream whole and never yields, so a hostile file (a decompression bomb, 20,000 pages) would otherwise stall the
 * thread and take gigabytes. The child refuses what the limits forbid before pdf.js does the expensive part (page
 * count, decompressed bytes; see `readPdf`), and the parent kills it when it outgrows its memory or its time. A
 * child per file also hands every byte pdf.js cached back to the system when it exits.
 */

export interface PdfLimits {
  /** `PDF_MAX_PAGES`: a longer file is refused before any page is read. */
  maxPages: number;
  /** `PDF_MAX_DECOMPRESSED_MB`, in bytes: what the file's non-image streams may inflate to. */
  maxDecompressedBytes: number;
  /** `PDF_PARSE_MEMORY_MB`, in bytes: the child's resident memory, checked every few milliseconds; over it, killed. */
  memoryBytes: number;
  /** `PDF_PARSE_TIMEOUT_MS`: wall-clock time for one file, from the child's start; over it, killed. */
  timeoutMs: number;
}

const MB = 1024 * 1024;

export const DEFAULT_PDF_LIMITS: Readonly<PdfLimits> = Object.freeze({
  maxPages: 300,
  maxDecompressedBytes: 200 * MB,
  memoryBytes: 512 * MB,
  timeoutMs: 20_000,
});

export function pdfLimitsFromConfig(
  config: Pick<Config, 'PDF_MAX_PAGES' | 'PDF_MAX_DECOMPRESSED_MB' | 'PDF_PARSE_MEMORY_MB' | 'PDF_PARSE_TIMEOUT_MS'>,
): PdfLimits {
  return {
    maxPages: config.PDF_MAX_PAGES,
    maxDecompressedBytes: config.PDF_MAX_DECOMPRESSED_MB * MB,
    memoryBytes: config.PDF_PARSE_MEMORY_MB * MB,
    timeoutMs: config.PDF_PARSE_TIMEOUT_MS,
  };
}

/** What the intake and the full-text service read PDFs with. */
export interface PdfReader {
  read(bytes: Uint8Array, request?: PdfReadRequest): Promise<PdfDocumentText>;
}

export type PdfReadRequest = Pick<ReadPdfOptions, 'name' | 'maxPages' | 'signal'>;

/** The IPC protocol with `pdfChild.ts`. */
export interface PdfChildRequest {
  bytes: Uint8Array;
  options: Omit<ReadPdfOptions, 'signal'>;
}
export type PdfChildReply =
  { ready: true } | { ok: true; document: PdfDocumentText } | { ok: false; problem?: PdfProblem; message: string };

/** Built JavaScript, or from TypeScript sources through tsx's API (see pdfChildFromSource.mjs). */
function childEntry(): string {
  // fileURLToPath drops the query tsx adds to module URLs it loads through its API.
  const here = fileURLToPath(import.meta.url);
  const built = path.extname(here) === '.js';
  return path.join(path.dirname(here), built ? 'pdfChild.js' : 'pdfChildFromSource.mjs');
}
/** How often the child's resident memory is read from /proc. */
const MEMORY_CHECK_MS = 20;

export class SandboxedPdfReader implements PdfReader {
  private readonly limits: PdfLimits;
  private readonly running = new Set<ChildProcess>();
  /** The tail of the one-file-at-a-time queue. */
  private turn: Promise<void> = Promise.resolve();
  private closed = false;

  constructor(limits: Partial<PdfLimits> = {}) {
    this.limits = { ...DEFAULT_PDF_LIMITS, ...limits };
  }

  async read(bytes: Uint8Array, request: PdfReadRequest = {}): Promise<PdfDocumentText> {
    const previous = this.turn;
    let release!: () => void;
    this.turn = new Promise((resolve) => (release = resolve));
    try {
      await waitOrAbort(previous, request.signal);
      if (this.closed) throw new Error('the PDF reader is closed');
      return await this.readInChild(bytes, request);
    } finally {
      // Released only once the previous holder is done, so an aborted waiter cannot let two children overlap.
      void previous.then(release);
    }
  }

  /** Kills any child still reading; later reads fail. */
  close(): void {
    this.closed = true;
    for (const child of this.running) child.kill('SIGKILL');
  }

  private readInChild(bytes: Uint8Array, request: PdfReadRequest): Promise<PdfDocumentText> {
    const { signal, ...rest } = request;
    request.signal?.throwIfAborted();
    const name = request.name ?? 'the file';
    const options: PdfChildRequest['options'] = {
      ...rest,
      maxPageCount: this.limits.maxPages,
      maxDecompressedBytes: this.limits.maxDecompressedBytes,
    };
    const memoryMb = Math.max(16, Math.floor(this.limits.memoryBytes / MB));
    return new Promise<PdfDocumentText>((resolve, reject) => {
      const child = fork(childEntry(), [], {
        serialization: 'advanced',
        // The heap limit makes V8 stop the child itself; the resident-memory check catches what lives outside it.
        execArgv: [`--max-old-space-size=${memoryMb}`],
        // stdout carries the CLI's `--json`: the child never writes there.
        stdio: ['ignore', 'ignore', 'pipe', 'ipc'],
      });
      this.running.add(child);
      let stderr = '';
      child.stderr?.on('data', (chunk: Buffer) => (stderr = (stderr + chunk.toString()).slice(-4000)));
      let settled = false;
      const settle = (outcome: { document: PdfDocumentText } | { error: unknown }) => {
        if (settled) return;
        settled = true;
        clearTimeout(timer);
        clearInterval(memoryCheck);
        signal?.removeEventListener('abort', onAbort);
        this.running.delete(child);
        if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
        if ('document' in outcome) resolve(outcome.document);
        else reject(outcome.error);
      };
      const overMemory = () =>
        new PdfReadError(
          'over_limit',
          `reading ${name} needed more than ${megabytes(this.limits.memoryBytes)} MB of memory, the limit for one PDF (PDF_PARSE_MEMORY_MB); nothing was added`,
        );
      const timer = setTimeout(
        () =>
          settle({
            error: new PdfReadError(
              'over_limit',
              `reading ${name} took longer than ${this.limits.timeoutMs / 1000} s, the limit for one PDF (PDF_PARSE_TIMEOUT_MS); nothing was added`,
            ),
          }),
        this.limits.timeoutMs,
      );
      const memoryCheck = setInterval(() => {
        if ((residentBytes(child.pid) ?? 0) > this.limits.memoryBytes) settle({ error: overMemory() });
      }, MEMORY_CHECK_MS);
      const onAbort = () => settle({ error: signal!.reason });
      signal?.addEventListener('abort', onAbort, { once: true });

      child.on('message', (reply: PdfChildReply) => {
        if ('ready' in reply) child.send({ bytes, options } satisfies PdfChildRequest);
        else if (reply.ok) settle({ document: reply.document });
        else if (reply.problem) settle({ error: new PdfReadError(reply.problem, reply.message) });
        else settle({ error: new Error(`the PDF reader failed on ${name}: ${reply.message}`) });
      });
      child.on('error', (error) => settle({ error }));
      child.on('exit', (code, exitSignal) => {
        if (settled) return;
        if (/heap out of memory|Reached heap limit/i.test(stderr)) settle({ error: overMemory() });
        else
          settle({
            error: new PdfReadError(
              'damaged',
              `${name} could not be read: the PDF reader stopped (${exitSignal ?? `exit code ${code}`}); nothing was added`,
              { cause: new Error(stderr.trim() || 'no output') },
            ),
          });
      });
    });
  }
}

/** A process's resident memory from /proc (Linux); undefined elsewhere or once it has exited. */
function residentBytes(pid: number | undefined): number | undefined {
  if (pid === undefined) return undefined;
  try {
    const status = readFileSync(path.join('/proc', String(pid), 'status'), 'latin1');
    const kilobytes = /^VmRSS:\s+(\d+)\s+kB/m.exec(status)?.[1];
    return kilobytes === undefined ? undefined : Number(kilobytes) * 1024;
  } catch {
    return undefined;
  }
}
