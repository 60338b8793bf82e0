import { MAX_SESSION_PAPERS, type Answer } from '../../answering/answerService.js';
import { UsageError, UserError } from '../../errors.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, parseCount, type CliCommand } from '../command.js';

const DEFAULT_K = 5;
const MAX_K = 20;

export const askCommand: CliCommand = {
  usage: [
    'papercord ask "<question>" [-k 5] [--paper "<title or id>" …] [--json]',
    '',
    `  -k        how many papers to answer from (1 to ${MAX_K}, default ${DEFAULT_K})`,
    '  --paper   answer from this paper only (its full text when there is one): an id, a link, a title or a short name;',
    `            repeat it for up to ${MAX_SESSION_PAPERS} papers: the answer draws on those papers only, as a /read thread does`,
    '  --json    print {"answer","citations":[{"n","id","title","url","section","page"}],"confidence","abstained","model",',
    '            "missing"}; confidence: high, low (nothing clearly matches; answered from the closest papers) or none',
    '            (abstained); missing: the key concepts of the question no paper covers ([] when none is missing)',
  ].join('\n'),
  async run(args, context) {
    const { values, positionals } = parseCommandArgs(
      args,
      {
        k: { type: 'string', short: 'k' },
        paper: { type: 'string', multiple: true },
        json: { type: 'boolean', default: false },
      },
      true,
    );
    const question = positionals.join(' ').trim();
    if (!question) throw new UsageError('ask needs a question');
    const k = parseCount(values.k, '-k', DEFAULT_K, MAX_K);
    const json = values.json;
    const papers = (values.paper ?? []).map((paper) => paper.trim());
    if (papers.some((paper) => !paper)) throw new UsageError('--paper needs a title or an id');
    if (papers.length > MAX_SESSION_PAPERS)
      throw new UsageError(`--paper can be given at most ${MAX_SESSION_PAPERS} times (got ${papers.length})`);
    const { library, answers } = await context.services();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);

    const answer = await answers.ask(question, {
      k,
      signal: context.signal,
      ...(papers.length === 1 ? { paper: papers[0] } : papers.length > 1 ? { papers } : {}),
    });
    if (json) {
      // The notice is for the person at the terminal; stdout keeps the documented shape.
      if (answer.notice) context.stderr.write(`${answer.notice}\n`);
      context.stdout.write(`${JSON.stringify(answerJson(answer))}\n`);
      return;
    }
    context.stdout.write(renderAnswer(answer));
  },
};

export function answerJson(answer: Answer) {
  return {
    answer: answer.answer,
    citations: answer.citations.map(({ n, id, title, url, section, page }) => ({
      n,
      id,
      title,
      url: url ?? null,
      section: section ?? null,
      page: page ?? null,
    })),
    confidence: answer.confidence,
    abstained: answer.abstained,
    model: answer.model,
    missing: answer.missing ?? [],
  };
}

export function renderAnswer(answer: Answer): string {
  const lines = [answer.answer, ''];
  if (answer.notice) lines.push(`note: ${answer.notice}`, '');
  if (answer.citations.length > 0) {
    lines.push('Sources');
    // One entry per paper, naming every place of it the answer cites.
    const numbers = [...new Set(answer.citations.map((citation) => citation.n))];
    for (const n of numbers) {
      const cited = answer.citations.filter((citation) => citation.n === n);
      const places = cited
        .map((citation) => (citation.section ? `§${citation.section}` : citation.page ? `p. ${citation.page}` : ''))
        .filter(Boolean);
      lines.push(
        `  [${n}] ${cited[0]!.title}${places.length > 0 ? ` (${places.join('; ')})` : ''}`,
        `      ${cited[0]!.url ?? cited[0]!.id}`,
      );
    }
    lines.push('');
  }
  lines.push(`(${answer.model})`);
  return `${lines.join('\n')}\n`;
}
