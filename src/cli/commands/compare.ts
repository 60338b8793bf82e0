import type { Comparison } from '../../answering/answerService.js';
import { UsageError, UserError } from '../../errors.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, type CliCommand } from '../command.js';

export const compareCommand: CliCommand = {
  usage: [
    'papercord compare "<paper>" "<paper>" [...] [--json]',
    '',
    '  <paper>  an id, a title, the start of a title or a short name such as "MrT5" (2 to 4 papers)',
    '  --json   print {"papers":[{"id","title","url","problem","method","data","results","limitations"}],',
    '           "similarities","differences","whenToUse","model"}',
  ].join('\n'),
  async run(args, context) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, true);
    if (positionals.length < 2 || positionals.length > 4)
      throw new UsageError(`compare needs 2 to 4 papers (got ${positionals.length})`);
    const { library, answers } = await context.services();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);

    const comparison = await answers.compare(positionals, { signal: context.signal });
    if (values.json) {
      // The notice is for the person at the terminal; stdout keeps the documented shape.
      if (comparison.notice) context.stderr.write(`${comparison.notice}\n`);
      context.stdout.write(`${JSON.stringify(comparisonJson(comparison))}\n`);
      return;
    }
    context.stdout.write(renderComparison(comparison));
  },
};

/** The documented `--json` shape: every key present, in order, `url` null for papers captured without a link. */
export function comparisonJson(comparison: Comparison) {
  return {
    papers: comparison.papers.map(({ id, title, url, problem, method, data, results, limitations }) => ({
      id,
      title,
      url: url ?? null,
      problem,
      method,
      data,
      results,
      limitations,
    })),
    similarities: comparison.similarities,
    differences: comparison.differences,
    whenToUse: comparison.whenToUse,
    model: comparison.model,
  };
}

const FACETS = [
  ['problem', 'Problem'],
  ['method', 'Method'],
  ['data', 'Data'],
  ['results', 'Results'],
  ['limitations', 'Limitations'],
] as const;

export function renderComparison(comparison: Comparison): string {
  const lines: string[] = [];
  comparison.papers.forEach((paper, index) => {
    lines.push(`[${index + 1}] ${paper.title}`, `    ${paper.url ?? paper.id}`);
    for (const [field, label] of FACETS) lines.push(`    ${`${label}:`.padEnd(13)}${paper[field]}`);
    lines.push('');
  });
  lines.push('Similarities', ...comparison.similarities.map((line) => `  - ${line}`), '');
  lines.push('Differences', ...comparison.differences.map((line) => `  - ${line}`), '');
  lines.push('When to use which', `  ${comparison.whenToUse}`, '');
  if (comparison.notice) lines.push(`note: ${comparison.notice}`, '');
  lines.push(`(${comparison.model})`);
  return `${lines.join('\n')}\n`;
}
