import { describeError, isUserError } from '../errors.js';
import type { Library } from '../library/library.js';
import type { Logger } from '../logger.js';
import { parseArxivReference } from '../papers/arxivIds.js';
import { paperId, type Paper } from '../papers/paper.js';
import { PdfReadError } from '../papers/pdf.js';
import {
  extractPdfPaperMetadata,
  keepPdf,
  keptPdfBytes,
  METADATA_PAGES,
  type PdfPaperMetadata,
} from '../papers/pdfPaper.js';
import type { PdfReader } from '../papers/pdfSandbox.js';
import type { ArxivApi } from '../papers/sources/arxivApi.js';
import { fetchHfPaperExtras } from '../papers/sources/arxivApi.js';
import { definedOnly } from '../util/options.js';

/** What happened to one input; the CLI's `--json` prints exactly these five fields. */
export type IntakeStatus = 'added' | 'present' | 'not_found' | 'error';

export interface IntakeOutcome {
  /** As the user gave it: the id, the link, or the PDF's path or file name. */
  input: string;
  /** The library id (`arxiv:2410.20771`); null when no paper was identified. */
  id: string | null;
  title: string | null;
  status: IntakeStatus;
  /** Null unless there is something to say (why not found, what failed). */
  message: string | null;
  /** The paper as stored, for cards; absent when no paper was identified. */
  paper?: Paper;
}

/** One thing to bring in: a pasted id or link, or a PDF's bytes. */
export type IntakeItem = { kind: 'reference'; input: string } | { kind: 'pdf'; input: string; bytes: Uint8Array };

export interface IntakeProgress {
  stage: 'reading' | 'looking up' | 'adding';
  done: number;
  total: number;
}

export interface IntakeRunOptions {
  signal?: AbortSignal;
  onProgress?: (progress: IntakeProgress) => void;
}

export interface PaperIntakeOptions {
  library: Pick<Library, 'add' | 'get' | 'getByTitle'>;
  arxiv: ArxivApi;
  /** `HF_API_BASE`: upvotes and AI summaries, best effort. Undefined skips Hugging Face. */
  hfBaseUrl?: string;
  /** PDFs are kept under `<dataDir>/pdfs/`. */
  dataDir: string;
  /** Reads uploaded PDFs (a child process with limits, `SandboxedPdfReader`). */
  pdfReader: PdfReader;
  logger: Logger;
  /** Hugging Face requests in flight at once. */
  hfConcurrency?: number;
  /** `PDF_STORE_MAX_MB` in MB: an uploaded PDF that would take the kept PDFs past it is refused before it is read. */
  pdfStoreMaxMb?: number;
}

export const DEFAULT_INTAKE_OPTIONS = { hfConcurrency: 4, pdfStoreMaxMb: Number.POSITIVE_INFINITY } as const;

/**
 * Papers per embedding call when intake adds. The bot's intake runs on the library worker threads that answer
 * questions, and a model call blocks its thread until it returns: 20 abstracts in one call would hold a question for the
 * whole call, 4 at a time let it run between them.
 */
export const INTAKE_EMBED_BATCH = 4;

export const NOT_A_REFERENCE = 'not an arXiv id, an arXiv or Hugging Face paper link, an arXiv DOI, or a PDF';

interface Pending {
  item: IntakeItem;
  outcome?: IntakeOutcome;
  arxivId?: string;
  pdf?: PdfPaperMetadata;
  paper?: Paper;
}

/**
 * Papers brought in by identifier or PDF, for every front end (`papercord add`, `/add`, the context menu, links
 * posted in a channel). Metadata comes from arXiv (batched `id_list` requests), enriched from Hugging Face; a PDF is
 * read for its own metadata unless it names an arXiv id, in which case the arXiv record wins. Everything goes
 * through `PaperLibrary.add`, which dedupes by id and normalized title.
 */
export class PaperIntake {
  private readonly options: Required<Omit<PaperIntakeOptions, 'hfBaseUrl'>> & Pick<PaperIntakeOptions, 'hfBaseUrl'>;

  constructor(options: PaperIntakeOptions) {
    this.options = { ...DEFAULT_INTAKE_OPTIONS, ...definedOnly(options) };
  }

  async add(items: readonly IntakeItem[], run: IntakeRunOptions = {}): Promise<IntakeOutcome[]> {
    const { signal, onProgress } = run;
    const pending: Pending[] = items.map((item) => ({ item }));

    // 1. What each input names.
    let read = 0;
    const pdfStore = this.pdfStoreRoom();
    for (const entry of pending) {
      signal?.throwIfAborted();
      if (entry.item.kind === 'reference') {
        entry.arxivId = parseArxivReference(entry.item.input);
        if (!entry.arxivId) entry.outcome = failed(entry.item.input, NOT_A_REFERENCE);
      } else {
        const full = await pdfStore.reserve(entry.item.bytes.byteLength);
        if (full) entry.outcome = failed(entry.item.input, `${entry.item.input}: ${full}`);
        else await this.readPdf(entry, entry.item.bytes, signal);
      }
      onProgress?.({ stage: 'reading', done: ++read, total: pending.length });
    }

    // 2. One arXiv lookup for every id not already in the library; the same id given twice is looked up once.
    const firstById = new Map<string, Pending>();
    const toLookUp: string[] = [];
    for (const entry of pending) {
      if (entry.outcome || !entry.arxivId) continue;
      const first = firstById.get(entry.arxivId);
      if (first) continue;
      firstById.set(entry.arxivId, entry);
      if (!(await this.options.library.get(paperId({ title: '', arxivId: entry.arxivId }))))
        toLookUp.push(entry.arxivId);
    }
    let records = new Map<string, Paper>();
    let lookupProblem: string | undefined;
    if (toLookUp.length > 0) {
      try {
        onProgress?.({ stage: 'looking up', done: 0, total: toLookUp.length });
        records = await this.options.arxiv.lookup(toLookUp, {
          signal,
          onBatch: (done) => onProgress?.({ stage: 'looking up', done, total: toLookUp.length }),
        });
        await this.addHuggingFaceExtras(records, signal);
      } catch (error) {
        if (signal?.aborted || !isUserError(error)) throw error;
        lookupProblem = `arXiv could not be reached (${describeError(error)}); nothing was added for this paper`;
      }
    }
    for (const entry of pending) {
      if (entry.outcome || !entry.arxivId) continue;
      const stored = await this.options.library.get(paperId({ title: '', arxivId: entry.arxivId }));
      if (stored) {
        entry.paper = stored;
        continue;
      }
      const record = records.get(entry.arxivId);
      if (record) entry.paper = { ...record, abstract: record.abstract || entry.pdf?.abstract || '' };
      else if (entry.pdf?.title && entry.pdf.abstract)
        // arXiv down or unaware of the id the PDF claims: a local paper under its own id, since a file's claim of
        // who it is never decides what the library holds.
        entry.paper = this.paperFromPdf(entry.item.input, entry.pdf);
      else if (lookupProblem) entry.outcome = failed(entry.item.input, lookupProblem);
      else
        entry.outcome = {
          input: entry.item.input,
          id: null,
          title: null,
          status: 'not_found',
          message: `arXiv has no paper ${entry.arxivId}`,
        };
      if (entry.paper && !entry.paper.abstract) {
        entry.outcome = failed(
          entry.item.input,
          `arXiv's record of ${entry.arxivId} has no abstract; nothing was added`,
        );
        entry.paper = undefined;
      }
    }

    // 3. Into the library, once per paper: the first input naming a paper adds it, later ones find it present.
    const candidates: Paper[] = [];
    const seen = new Set<string>();
    for (const entry of pending) {
      if (!entry.paper || entry.outcome) continue;
      const key = entry.paper.id;
      if (!seen.has(key)) candidates.push(entry.paper);
      seen.add(key);
    }
    onProgress?.({ stage: 'adding', done: 0, total: candidates.length });
    const { added, stored } =
      candidates.length > 0
        ? await this.options.library.add(candidates, { signal, embedBatchSize: INTAKE_EMBED_BATCH })
        : { added: [] as Paper[], stored: [] as Paper[] };
    onProgress?.({ stage: 'adding', done: candidates.length, total: candidates.length });
    const addedIds = new Set(added.map((paper) => paper.id));
    // The paper each one became (its stored id, merged metadata), as the library reports it: nothing is read back.
    const storedAs = new Map(candidates.map((paper, index) => [paper.id, stored[index]!]));

    const reported = new Set<string>();
    const outcomes: IntakeOutcome[] = [];
    for (const entry of pending) {
      if (entry.outcome) {
        outcomes.push(entry.outcome);
        continue;
      }
      const incoming = entry.paper!;
      const stored = storedAs.get(incoming.id) ?? incoming;
      const firstTime = addedIds.has(incoming.id) && !reported.has(incoming.id);
      reported.add(incoming.id);
      // Only a paper this upload created keeps its bytes: one already there keeps its own PDF (or none).
      if (entry.item.kind === 'pdf' && firstTime) await this.keep(entry.item, stored);
      outcomes.push({
        input: entry.item.input,
        id: stored.id,
        title: stored.title,
        status: firstTime ? 'added' : 'present',
        message: null,
        paper: stored,
      });
    }
    return outcomes;
  }

  private async readPdf(entry: Pending, bytes: Uint8Array, signal: AbortSignal | undefined): Promise<void> {
    const input = entry.item.input;
    try {
      entry.pdf = extractPdfPaperMetadata(
        await this.options.pdfReader.read(bytes, { name: input, maxPages: METADATA_PAGES, signal }),
      );
    } catch (error) {
      if (error instanceof PdfReadError) {
        entry.outcome = failed(input, error.message);
        return;
      }
      throw error;
    }
    if (entry.pdf.arxivId) {
      entry.arxivId = entry.pdf.arxivId;
      return;
    }
    if (!entry.pdf.title || !entry.pdf.abstract) {
      const missing = !entry.pdf.title ? 'a title' : 'an abstract';
      entry.outcome = failed(input, `${input}: could not find ${missing} in the PDF; nothing was added`);
      return;
    }
    entry.paper = this.paperFromPdf(input, entry.pdf);
  }

  private paperFromPdf(input: string, pdf: PdfPaperMetadata): Paper {
    const title = pdf.title!;
    const paper: Paper = { id: paperId({ title }), title, abstract: pdf.abstract!, source: `pdf:${input}` };
    if (pdf.authors.length > 0) paper.authors = pdf.authors;
    return paper;
  }

  private async addHuggingFaceExtras(records: Map<string, Paper>, signal: AbortSignal | undefined): Promise<void> {
    const hfBaseUrl = this.options.hfBaseUrl;
    if (!hfBaseUrl) return;
    const queue = [...records.keys()];
    const worker = async () => {
      for (let arxivId = queue.shift(); arxivId !== undefined; arxivId = queue.shift()) {
        const extras = await fetchHfPaperExtras(hfBaseUrl, arxivId, { signal, logger: this.options.logger });
        if (extras) records.set(arxivId, { ...records.get(arxivId)!, ...extras });
      }
    };
    await Promise.all(Array.from({ length: Math.min(this.options.hfConcurrency, queue.length) }, worker));
  }

  /**
   * The room left under `PDF_STORE_MAX_MB` for this request's uploads, measured on the first PDF: `reserve` says why
   * a PDF does not fit (undefined when it does). A PDF is counted whether or not it is kept in the end, which only
   * errs on the safe side.
   */
  private pdfStoreRoom(): { reserve(bytes: number): Promise<string | undefined> } {
    const maxMb = this.options.pdfStoreMaxMb;
    let used: number | undefined;
    return {
      reserve: async (bytes) => {
        if (!Number.isFinite(maxMb)) return undefined;
        used ??= await keptPdfBytes(this.options.dataDir);
        const maxBytes = maxMb * 1024 * 1024;
        if (used + bytes > maxBytes) {
          const usedMb = (used / 1_048_576).toFixed(1);
          return `not added: the kept PDFs take ${usedMb} MB and the limit is ${maxMb} MB (PDF_STORE_MAX_MB); add the paper by its arXiv id, or ask whoever runs papercord to raise the limit`;
        }
        used += bytes;
        return undefined;
      },
    };
  }

  private async keep(item: Extract<IntakeItem, { kind: 'pdf' }>, paper: Paper): Promise<void> {
    try {
      await keepPdf(this.options.dataDir, paper.id, item.bytes);
    } catch (error) {
      // The paper is in the library either way; only later full-text work misses the file.
      this.options.logger.warn({ err: describeError(error), paper: paper.id }, 'could not keep the PDF under DATA_DIR');
    }
  }
}

function failed(input: string, message: string): IntakeOutcome {
  return { input, id: null, title: null, status: 'error', message };
}

/** Exit status of `papercord add`: 0 when every input was added or already there. */
export function allSucceeded(outcomes: readonly IntakeOutcome[]): boolean {
  return outcomes.every((outcome) => outcome.status === 'added' || outcome.status === 'present');
}
