import { ingestInBatches } from '../../library/bulkIngest.js';
import { PaperPreparer } from '../../library/preparer.js';
import { streamPapersFromSource } from '../../papers/ingest.js';
import { parseCommandArgs, type CliCommand } from '../command.js';
import { startProgress } from '../progress.js';

/** Below this many papers a worker thread costs more to start than it saves. */
const WORKER_THRESHOLD = 2_000;
/** Progress is shown for sources at least this large. */
const PROGRESS_THRESHOLD = 1_000;

export const ingestCommand: CliCommand = {
  name: 'ingest',
  summary: 'add papers to the library (the built-in seeds, a seed page, a JSON/JSONL file or a directory)',
  usage: [
    'papercord ingest [--source seeds|<path>] [--json]',
    '',
    '  --source   seeds (default): the seed pages shipped in seeds/;',
    '             <path>: a captured papers page (.txt), papers as .json/.jsonl, or a directory of them',
    '  --json     print {"new","existing","papers"} instead of a sentence',
    '',
    'Large sources are committed in batches of 500 papers with a progress bar (a line every 5 s when stderr is not',
    'a terminal); Ctrl-C stops at the end of a batch and keeps every batch committed so far.',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, { source: { type: 'string', default: 'seeds' }, json: { type: 'boolean', default: false } });
    // Every file is checked before touching the library: a malformed file adds nothing.
    const source = await streamPapersFromSource(values.source);
    const { library, config, embedder, logger } = await context.services();
    const preparer = source.count >= WORKER_THRESHOLD ? await PaperPreparer.start(config, embedder, logger) : undefined;
    const progress = source.count >= PROGRESS_THRESHOLD ? startProgress({ unit: 'papers', total: source.count, output: context.stderr }) : undefined;
    let result;
    try {
      result = await ingestInBatches(library, source.papers(), {
        signal: context.signal,
        prepare: preparer && ((papers) => preparer.prepare(papers)),
        onProgress: ({ done }) => progress?.update(done),
      });
    } finally {
      progress?.stop();
      await preparer?.close();
    }
    if (result.interrupted) {
      context.stderr.write(`stopped: ${result.added} new papers from the batches committed so far are kept (${library.size} papers in total)\n`);
      context.signal.throwIfAborted();
    }
    const { added, existing } = result;
    if (values.json) {
      context.stdout.write(`${JSON.stringify({ new: added, existing, papers: library.size })}\n`);
    } else {
      context.stdout.write(`${added} new, ${existing} already in the library (${library.size} papers in total)\n`);
    }
  },
};
