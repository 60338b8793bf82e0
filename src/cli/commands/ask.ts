import type { Answer } from '../../answering/answerService.js';
import { UserError } from '../../errors.js';
import { EMPTY_LIBRARY_HINT, parseTextQuery, type CliCommand } from '../command.js';

const DEFAULT_K = 5;
const MAX_K = 20;

export const askCommand: CliCommand = {
  name: 'ask',
  summary: 'answer a question from the library, citing the papers used',
  usage: [
    'papercord ask "<question>" [-k 5] [--json]',
    '',
    `  -k       how many papers to answer from (1 to ${MAX_K}, default ${DEFAULT_K})`,
    '  --json   print {"answer","citations":[{"n","id","title","url"}],"confidence","abstained","model"}',
    '           confidence: high, low (nothing clearly matches; answered from the closest papers) or none (abstained)',
  ].join('\n'),
  async run(args, context) {
    const { text: question, k, json } = parseTextQuery(args, { missingText: 'ask needs a question', defaultK: DEFAULT_K, maxK: MAX_K });
    const { library, answers } = await context.services();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);

    const answer = await answers.ask(question, { k, signal: context.signal });
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
    citations: answer.citations.map(({ n, id, title, url }) => ({ n, id, title, url: url ?? null })),
    confidence: answer.confidence,
    abstained: answer.abstained,
    model: answer.model,
  };
}

export function renderAnswer(answer: Answer): string {
  const lines = [answer.answer, ''];
  if (answer.notice) lines.push(`note: ${answer.notice}`, '');
  if (answer.citations.length > 0) {
    lines.push('Sources');
    for (const citation of answer.citations) {
      lines.push(`  [${citation.n}] ${citation.title}`, `      ${citation.url ?? citation.id}`);
    }
    lines.push('');
  }
  lines.push(`(${answer.model})`);
  return `${lines.join('\n')}\n`;
}
