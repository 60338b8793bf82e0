import { UsageError } from '../../errors.js';
import { backfillArxiv } from '../../intake/arxivBackfill.js';
import { ingestInBatches } from '../../library/bulkIngest.js';
import { PaperPreparer } from '../../library/preparer.js';
import { detectPaperFileFormat, loadPaperSource, streamPaperLines } from '../../papers/ingest.js';
import { snapshotPaperBatches, validateSnapshot } from '../../papers/formats/arxivSnapshot.js';
import type { SkippedEntry } from '../../papers/formats/types.js';
import type { Paper } from '../../papers/paper.js';
import { isIsoDate } from '../../papers/sources/index.js';
import { stat } from 'node:fs/promises';
import { parseCommandArgs, type CliCommand, type CommandContext } from '../command.js';
import { createProgress } from '../progress.js';

/** Papers per library commit when a big file is added: bounded memory, and progress that moves. */
export const INGEST_BATCH_SIZE = 256;
/** From this many papers a worker thread embeds while the main thread commits (below, starting it costs more than it saves). */
const WORKER_FROM = 2_000;
/** Fewer papers than this are added without a progress display. */
const PROGRESS_FROM = 500;

const ARXIV_CATEGORY = /^[a-z-]+(\.[A-Za-z-]+)?\.?$/;

export const ingestCommand: CliCommand = {
  usage: [
    'papercord ingest [--source seeds|<path>] [--category C] [--lookup] [--json]',
    'papercord ingest --source arxiv --category cs.CL --from YYYY-MM-DD [--to YYYY-MM-DD] [--max N] [--json]',
    '',
    '  --source   seeds (default): the seed pages shipped in seeds/;',
    '             <path>: a file or a directory of them, recognised by content as well as extension:',
    '               a captured papers page (.txt), papers as .json/.jsonl, BibTeX (.bib), CSL-JSON (Zotero export),',
    '               the arXiv metadata snapshot (arxiv-metadata-oai-snapshot.json, streamed);',
    '             arxiv: every paper of --category submitted from --from to --to (default today), read from the arXiv',
    '               API 3 s apart; run again with the same arguments to resume where it stopped',
    '  --category arXiv category; for the snapshot a prefix (cs. keeps all of computer science)',
    '  --lookup   BibTeX / CSL-JSON entries with an arXiv id but no abstract are looked up on arXiv (else skipped)',
    '  --max      with --source arxiv: stop after N papers',
    '  --json     print {"new","existing","papers","skipped"} instead of sentences',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, {
      source: { type: 'string', default: 'seeds' },
      category: { type: 'string' },
      from: { type: 'string' },
      to: { type: 'string' },
      max: { type: 'string' },
      lookup: { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    if (values.category !== undefined && !ARXIV_CATEGORY.test(values.category)) {
      throw new UsageError(
        `--category expects an arXiv category such as cs.CL or a prefix such as cs. (got "${values.category}")`,
      );
    }
    if (values.source === 'arxiv') return backfill(values, context);
    for (const option of ['from', 'to', 'max'] as const) {
      if (values[option] !== undefined) throw new UsageError(`--${option} goes with --source arxiv`);
    }

    const isFile = values.source !== 'seeds' && (await stat(values.source).catch(() => undefined))?.isFile();
    if (isFile && (await detectPaperFileFormat(values.source)) === 'arxiv-snapshot') {
      return ingestSnapshot(values.source, values.category, values.json, context);
    }
    // Everything is parsed before the library is touched: a malformed file adds nothing.
    const lookup = values.lookup
      ? async (ids: readonly string[]) => {
          const { arxiv } = await context.services();
          const progress =
            ids.length >= 20
              ? createProgress(context.stderr, { label: 'looking up on arXiv', total: ids.length })
              : undefined;
          try {
            return await arxiv.lookup(ids, { signal: context.signal, onBatch: (done) => progress?.update(done) });
          } finally {
            progress?.stop();
          }
        }
      : undefined;
    if (isFile && (await detectPaperFileFormat(values.source)) === 'jsonl') {
      // Streamed: a 100,000-paper file is never in memory at once.
      const lines = await streamPaperLines(values.source);
      const { library } = await context.services();
      const { added, existing } = await addInBatches(lines.papers(), lines.count, context);
      report(context, values.json, { added, existing, total: await library.count(), skipped: [] });
      return;
    }
    const limits = {
      maxFileBytes: context.config.IMPORT_MAX_FILE_MB * 1024 * 1024,
      maxEntryBytes: context.config.IMPORT_MAX_ENTRY_KB * 1024,
    };
    const { papers, skipped } = await loadPaperSource(values.source, { lookup, category: values.category, limits });
    const { library } = await context.services();
    const { added, existing } = await addInBatches(papers, papers.length, context);
    report(context, values.json, { added, existing, total: await library.count(), skipped });
  },
};

/**
 * Adds papers in batches (see `ingestInBatches`): embedded on a worker thread for large sources, one commit per
 * batch, the HNSW graph checkpointed once at the end. Ctrl-C stops at a batch boundary, keeping committed batches,
 * then the command exits as interrupted.
 */
async function addInBatches(
  papers: AsyncIterable<Paper> | Iterable<Paper>,
  total: number,
  context: CommandContext,
  label = 'adding papers',
): Promise<{ added: number; existing: number }> {
  const { library, config, embedder, logger } = await context.services();
  const preparer = total >= WORKER_FROM ? await PaperPreparer.start(config, embedder, logger) : undefined;
  const graph = total >= WORKER_FROM ? await library.startBulkGraph?.() : undefined;
  const progress = total >= PROGRESS_FROM ? createProgress(context.stderr, { label, total }) : undefined;
  let result;
  try {
    result = await ingestInBatches(library, papers, {
      batchSize: INGEST_BATCH_SIZE,
      signal: context.signal,
      prepare: preparer && ((batch) => preparer.prepare(batch)),
      graph,
      onProgress: ({ done }) => progress?.update(done),
    });
  } finally {
    progress?.stop();
    await preparer?.close();
  }
  if (result.interrupted) {
    context.stderr.write(
      `stopped: the ${result.added} new papers of the batches committed so far are kept (${await library.count()} papers in total)\n`,
    );
    context.signal.throwIfAborted();
  }
  return result;
}

async function* flatten(batches: AsyncIterable<readonly Paper[]>): AsyncGenerator<Paper> {
  for await (const batch of batches) yield* batch;
}

async function ingestSnapshot(
  file: string,
  category: string | undefined,
  json: boolean,
  context: CommandContext,
): Promise<void> {
  const megabytes = (bytes: number) => Math.round(bytes / 1_048_576);
  const { size } = await stat(file);
  const checking =
    size >= 50 * 1_048_576
      ? createProgress(context.stderr, { label: 'checking snapshot (MB)', total: megabytes(size) })
      : undefined;
  let summary;
  try {
    summary = await validateSnapshot(file, {
      category,
      signal: context.signal,
      onBytes: (read) => checking?.update(megabytes(read)),
    });
  } finally {
    checking?.stop();
  }
  const { library } = await context.services();
  const { added, existing } = await addInBatches(
    flatten(snapshotPaperBatches(file, { category, batchSize: INGEST_BATCH_SIZE, signal: context.signal })),
    summary.matching,
    context,
  );
  if (!json && category) context.stderr.write(`${summary.matching} of ${summary.records} records match ${category}\n`);
  report(context, json, { added, existing, total: await library.count(), skipped: [] });
}

async function backfill(
  values: { category?: string; from?: string; to?: string; max?: string; json: boolean },
  context: CommandContext,
): Promise<number> {
  if (!values.from) throw new UsageError('--source arxiv needs --from YYYY-MM-DD');
  for (const [option, value] of [
    ['--from', values.from],
    ['--to', values.to],
  ] as const) {
    if (value !== undefined && !isIsoDate(value))
      throw new UsageError(`${option} expects a date YYYY-MM-DD (got "${value}")`);
  }
  let max: number | undefined;
  if (values.max !== undefined) {
    max = Number(values.max);
    if (!Number.isInteger(max) || max < 1)
      throw new UsageError(`--max expects a whole number above 0 (got "${values.max}")`);
  }
  const category = values.category ?? context.config.ARXIV_CATEGORY;
  const services = await context.services();
  const progress = createProgress(context.stderr, { label: `arXiv ${category}`, total: max ?? 0 });
  let result;
  try {
    result = await backfillArxiv(
      { category, from: values.from, to: values.to, max },
      {
        arxiv: services.arxiv,
        library: services.library,
        dataDir: context.config.DATA_DIR,
        logger: context.logger,
        signal: context.signal,
        onProgress: ({ fetched, total, window }) => {
          progress.setTotal(total);
          progress.update(fetched, window);
        },
      },
    );
  } finally {
    progress.stop();
  }
  if (values.json) {
    context.stdout.write(
      `${JSON.stringify({ new: result.added, existing: result.existing, papers: await services.library.count(), fetched: result.fetched, resumedAfter: result.resumedAfter })}\n`,
    );
  } else {
    if (result.alreadyComplete)
      context.stderr.write(
        `this backfill finished before; nothing was fetched (delete ${result.checkpointFile} to run it again)\n`,
      );
    else if (result.resumedAfter > 0)
      context.stderr.write(`resumed after ${result.resumedAfter} papers fetched earlier (${result.checkpointFile})\n`);
    context.stdout.write(
      `${result.fetched} fetched, ${result.added} new, ${result.existing} already in the library (${await services.library.count()} papers in total)\n`,
    );
  }
  return 0;
}

function report(
  context: CommandContext,
  json: boolean,
  counts: { added: number; existing: number; total: number; skipped: SkippedEntry[] },
): void {
  if (json) {
    context.stdout.write(
      `${JSON.stringify({ new: counts.added, existing: counts.existing, papers: counts.total, skipped: counts.skipped })}\n`,
    );
    return;
  }
  for (const entry of counts.skipped) {
    context.stderr.write(`skipped ${entry.where}${entry.title ? ` "${entry.title}"` : ''}: ${entry.reason}\n`);
  }
  const skipped = counts.skipped.length > 0 ? `, ${counts.skipped.length} skipped` : '';
  context.stdout.write(
    `${counts.added} new, ${counts.existing} already in the library${skipped} (${counts.total} papers in total)\n`,
  );
}
