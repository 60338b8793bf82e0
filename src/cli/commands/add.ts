import { readFile, stat } from 'node:fs/promises';
import { UsageError } from '../../errors.js';
import { allSucceeded, type IntakeItem, type IntakeOutcome } from '../../intake/paperIntake.js';
import { parseArxivReference } from '../../papers/arxivIds.js';
import { tooLarge } from '../../papers/pdf.js';
import { parseCommandArgs, type CliCommand } from '../command.js';
import { createProgress } from '../progress.js';

/** Inputs beyond this many get a progress display (a handful finishes before a bar would draw). */
const PROGRESS_FROM = 10;

export const addCommand: CliCommand = {
  usage: [
    'papercord add <id|url|file.pdf>... [--json]',
    '',
    '  <id|url>    2410.20771, 2410.20771v2, arXiv:2410.20771, cs/0601001, https://arxiv.org/abs|pdf|html/…,',
    '              https://huggingface.co/papers/…, https://doi.org/10.48550/arXiv.…',
    '  file.pdf    a paper PDF: its arXiv id when it carries one, else its title, authors and abstract',
    '  --json      print [{"input","id","title","status","message"}]; status is added, present, not_found or error',
    '',
    'Exits 0 when every input was added or already in the library, 1 otherwise.',
  ].join('\n'),
  async run(args, context) {
    const { values, positionals } = parseCommandArgs(args, { json: { type: 'boolean', default: false } }, true);
    if (positionals.length === 0) throw new UsageError('give at least one arXiv id, paper link or PDF file');

    const items: IntakeItem[] = [];
    /** Per input: the outcome of a file that could not be read, or undefined for one handed to the intake. */
    const unreadable: Array<IntakeOutcome | undefined> = [];
    for (const input of positionals) {
      const item = await toItem(input, context.config.PDF_MAX_BYTES);
      if ('status' in item) unreadable.push(item);
      else {
        items.push(item);
        unreadable.push(undefined);
      }
    }
    const { intake } = await context.services();
    const progress =
      items.length >= PROGRESS_FROM
        ? createProgress(context.stderr, { label: 'adding papers', total: items.length })
        : undefined;
    let outcomes: IntakeOutcome[];
    try {
      outcomes = await intake.add(items, {
        signal: context.signal,
        onProgress: ({ stage, done, total }) => {
          progress?.setTotal(total);
          progress?.update(done, stage);
        },
      });
    } finally {
      progress?.stop();
    }
    // Back in the order given, files that could not be read included.
    const all = unreadable.map((outcome) => outcome ?? outcomes.shift()!);

    if (values.json) {
      const rows = all.map(({ input, id, title, status, message }) => ({ input, id, title, status, message }));
      context.stdout.write(`${JSON.stringify(rows)}\n`);
    } else {
      for (const outcome of all) context.stdout.write(`${describe(outcome)}\n`);
      context.stdout.write(`${summarize(all)}\n`);
    }
    return allSucceeded(all) ? 0 : 1;
  },
};

/** A local PDF (by extension or because the path exists and is not an id) is read here; everything else is a reference. */
async function toItem(input: string, maxBytes: number): Promise<IntakeItem | IntakeOutcome> {
  const looksLikeFile = /\.pdf$/i.test(input) && !/^https?:\/\//i.test(input);
  if (!looksLikeFile && parseArxivReference(input)) return { kind: 'reference', input };
  const info = await stat(input).catch(() => undefined);
  if (!info) {
    if (looksLikeFile) return { input, id: null, title: null, status: 'error', message: `${input}: no such file` };
    return { kind: 'reference', input };
  }
  if (!info.isFile()) return { input, id: null, title: null, status: 'error', message: `${input}: not a file` };
  if (info.size > maxBytes)
    return { input, id: null, title: null, status: 'error', message: tooLarge(input, info.size, maxBytes) };
  return { kind: 'pdf', input, bytes: new Uint8Array(await readFile(input)) };
}

const STATUS_WORDS: Record<IntakeOutcome['status'], string> = {
  added: 'added',
  present: 'already in the library',
  not_found: 'not found',
  error: 'failed',
};

function describe(outcome: IntakeOutcome): string {
  const what = outcome.title ? `${outcome.title} [${outcome.id}]` : outcome.input;
  const said = outcome.message ? `: ${outcome.message}` : '';
  return `${STATUS_WORDS[outcome.status]}: ${what}${outcome.title ? '' : said}${outcome.title && outcome.message ? said : ''}`;
}

function summarize(outcomes: readonly IntakeOutcome[]): string {
  const count = (status: IntakeOutcome['status']) => outcomes.filter((outcome) => outcome.status === status).length;
  return `${count('added')} added, ${count('present')} already in the library, ${count('not_found')} not found, ${count('error')} failed`;
}
