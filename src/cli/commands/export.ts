import { writeFile } from 'node:fs/promises';
import { UsageError, UserError } from '../../errors.js';
import { exportPapers, EXPORT_FORMAT_NAMES, isExportFormatName } from '../../papers/export/formats.js';
import type { Library } from '../../library/library.js';
import { idsMeant } from '../../library/lookup.js';
import type { Paper } from '../../papers/paper.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, parseCount, type CliCommand } from '../command.js';

const DEFAULT_K = 25;
const MAX_K = 500;
/** Ids one export takes: a reading list's worth, and a bound on what one command line can make the library look up. */
export const MAX_EXPORT_IDS = 2_000;

export const exportCommand: CliCommand = {
  usage: [
    `papercord export (--query "<text>" [-k ${DEFAULT_K}] | --ids <id,…>) --format ${EXPORT_FORMAT_NAMES.join('|')} [-o file]`,
    '',
    `  --query   the papers a search finds (as papercord search), best first; -k how many (1 to ${MAX_K}, default ${DEFAULT_K})`,
    `  --ids     these papers, comma-separated: library ids (arxiv:2410.20771, t:…), arXiv ids or links (at most ${MAX_EXPORT_IDS})`,
    '  --format  bibtex (keys: author, year, first title word), csl-json (Zotero, pandoc) or ris (EndNote)',
    '  -o        write to this file instead of stdout',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, {
      query: { type: 'string' },
      ids: { type: 'string' },
      k: { type: 'string', short: 'k' },
      format: { type: 'string' },
      output: { type: 'string', short: 'o' },
    });
    if ((values.query === undefined) === (values.ids === undefined))
      throw new UsageError('export needs either --query or --ids');
    if (values.format === undefined) throw new UsageError(`--format is one of ${EXPORT_FORMAT_NAMES.join(', ')}`);
    if (!isExportFormatName(values.format))
      throw new UsageError(`--format is one of ${EXPORT_FORMAT_NAMES.join(', ')} (got "${values.format}")`);
    if (values.k !== undefined && values.ids !== undefined) throw new UsageError('-k goes with --query');
    const k = parseCount(values.k, '-k', DEFAULT_K, MAX_K);
    const ids = values.ids === undefined ? undefined : splitIds(values.ids);
    const query = values.query?.trim();
    if (values.query !== undefined && !query) throw new UsageError('--query needs some text');

    const { library, retriever } = await context.searchServices();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);
    let papers: Paper[];
    if (ids) {
      papers = await papersById(library, ids);
    } else {
      const found = await retriever.retrieve(query!, { k, signal: context.signal });
      if (found.abstained || found.hits.length === 0)
        throw new UserError(`nothing in the library is relevant to "${query}"; nothing was exported`);
      papers = found.hits.map((hit) => hit.paper);
    }
    papers = unique(papers);
    const { text } = exportPapers(papers, values.format);
    if (values.output === undefined) {
      context.stdout.write(text);
      return;
    }
    await writeFile(values.output, text);
    context.stderr.write(`${papers.length} paper${papers.length === 1 ? '' : 's'} written to ${values.output}\n`);
  },
};

function splitIds(list: string): string[] {
  const ids = list
    .split(',')
    .map((id) => id.trim())
    .filter(Boolean);
  if (ids.length === 0) throw new UsageError('--ids needs at least one id');
  if (ids.length > MAX_EXPORT_IDS)
    throw new UsageError(`--ids takes at most ${MAX_EXPORT_IDS} ids (got ${ids.length})`);
  return ids;
}

/** Exactly the papers named, never a title that looks like an id: an unknown id stops the export, naming it. */
async function papersById(library: Pick<Library, 'get'>, ids: readonly string[]): Promise<Paper[]> {
  const papers: Paper[] = [];
  const unknown: string[] = [];
  for (const id of ids) {
    let paper: Paper | undefined;
    for (const candidate of idsMeant(id)) if ((paper = await library.get(candidate))) break;
    if (paper) papers.push(paper);
    else unknown.push(id);
  }
  if (unknown.length > 0)
    throw new UserError(
      `not in the library: ${unknown.slice(0, 10).join(', ')}${unknown.length > 10 ? ` and ${unknown.length - 10} more` : ''}; nothing was exported`,
    );
  return papers;
}

/** An id given twice (or an id and its link) is one paper, exported once. */
function unique(papers: readonly Paper[]): Paper[] {
  return [...new Map(papers.map((paper) => [paper.id, paper])).values()];
}
