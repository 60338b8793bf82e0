import { loadPapersFromSource } from '../../papers/ingest.js';
import { parseCommandArgs, type CliCommand } from '../command.js';

export const ingestCommand: CliCommand = {
  name: 'ingest',
  summary: 'add papers to the library (the built-in seeds, a seed page, a JSON/JSONL file or a directory)',
  usage: [
    'papercord ingest [--source seeds|<path>] [--json]',
    '',
    '  --source   seeds (default): the seed pages shipped in seeds/;',
    '             <path>: a captured papers page (.txt), papers as .json/.jsonl, or a directory of them',
    '  --json     print {"new","existing","papers"} instead of a sentence',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, { source: { type: 'string', default: 'seeds' }, json: { type: 'boolean', default: false } });
    // Parse everything before touching the library: a malformed file adds nothing.
    const papers = await loadPapersFromSource(values.source);
    const { library } = await context.services();
    const { added, existing } = await library.add(papers, { signal: context.signal });
    const total = await library.count();
    if (values.json) {
      context.stdout.write(`${JSON.stringify({ new: added.length, existing, papers: total })}\n`);
    } else {
      context.stdout.write(`${added.length} new, ${existing} already in the library (${total} papers in total)\n`);
    }
  },
};
