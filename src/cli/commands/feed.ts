import { UsageError, UserError } from '../../errors.js';
import { IndexedFollowMatcher } from '../../feed/matcher.js';
import type { Follow } from '../../feed/types.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, type CliCommand } from '../command.js';

/** The newest papers a preview reads, at most: a window of a busy week, and a bound on a huge library. */
const PREVIEW_MAX_PAPERS = 10_000;
const MAX_TEXT = 500;
const SINCE_UNITS: Readonly<Record<string, number>> = { h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };

export const feedCommand: CliCommand = {
  usage: [
    'papercord feed preview (--topic <text> [--exclude <words>] | --author <name> | --category <code> |',
    '                        --paper <id> | --question <text>) [--since 7d] [--json]',
    '',
    '  what one follow would have delivered from the papers added in the window, best first',
    '  --exclude  comma-separated words or phrases that veto a paper (topic follows)',
    '  --since    the window: a number and h, d or w (default 7d); papers without a date count as in it',
    '  --json     print [{"id","title","score","why"}]',
  ].join('\n'),
  async run(args, context) {
    const [subcommand, ...rest] = args;
    if (subcommand !== 'preview')
      throw new UsageError(subcommand ? `unknown feed command "${subcommand}"` : 'feed needs a command: preview');
    const { values } = parseCommandArgs(rest, {
      topic: { type: 'string' },
      exclude: { type: 'string' },
      author: { type: 'string' },
      category: { type: 'string' },
      paper: { type: 'string' },
      question: { type: 'string' },
      since: { type: 'string', default: '7d' },
      json: { type: 'boolean', default: false },
    });
    const kinds = (['topic', 'author', 'category', 'paper', 'question'] as const).filter(
      (kind) => values[kind] !== undefined,
    );
    if (kinds.length !== 1)
      throw new UsageError('feed preview needs exactly one of --topic, --author, --category, --paper, --question');
    if (values.exclude !== undefined && kinds[0] !== 'topic') throw new UsageError('--exclude goes with --topic');
    const windowMs = parseSince(values.since);
    const text = values[kinds[0]!]!.trim();
    if (text === '') throw new UsageError(`--${kinds[0]} needs a value`);
    if (text.length > MAX_TEXT) throw new UsageError(`--${kinds[0]} takes at most ${MAX_TEXT} characters`);

    const { library, retriever } = await context.searchServices();
    if ((await library.count()) === 0) throw new UserError(EMPTY_LIBRARY_HINT);
    const follow = await previewFollow(kinds[0]!, text, values.exclude, library);
    const matcher = new IndexedFollowMatcher({ library, embedder: library.embedder, retriever });
    await matcher.add([follow], { signal: context.signal });
    const since = Date.now() - windowMs;
    const papers = (await library.recent(PREVIEW_MAX_PAPERS)).filter((paper) => {
      const published = paper.publishedAt ? Date.parse(paper.publishedAt) : NaN;
      return Number.isNaN(published) || published >= since;
    });
    const byId = new Map(papers.map((paper) => [paper.id, paper]));
    const matches = (await matcher.match(papers, { signal: context.signal })).sort(
      (left, right) => right.score - left.score,
    );
    const rows = matches.map((match) => ({
      id: match.paperId,
      title: byId.get(match.paperId)!.title,
      score: Math.round(match.score * 10_000) / 10_000,
      why: match.why,
    }));
    if (values.json) {
      context.stdout.write(`${JSON.stringify(rows)}\n`);
      return;
    }
    if (rows.length === 0) {
      context.stdout.write(
        `Nothing added in the last ${values.since} matches this follow (${papers.length} papers read).\n`,
      );
      return;
    }
    rows.forEach((row, index) => {
      context.stdout.write(`${String(index + 1).padStart(2)}. ${row.score.toFixed(3)}  ${row.title}  [${row.id}]\n`);
      context.stdout.write(`    ${row.why}\n`);
    });
  },
};

/** `7d`, `36h`, `2w`. */
export function parseSince(value: string): number {
  const match = /^(\d{1,4})([hdw])$/.exec(value.trim());
  if (!match || Number(match[1]) === 0)
    throw new UsageError(`--since expects a number and h, d or w, such as 7d or 36h (got "${value}")`);
  return Number(match[1]) * SINCE_UNITS[match[2]!]!;
}

async function previewFollow(
  kind: Follow['kind'],
  text: string,
  exclude: string | undefined,
  library: { resolve(nameOrId: string): Promise<{ id: string; title: string }> | { id: string; title: string } },
): Promise<Follow> {
  const base = { id: 'preview', userId: 'cli' };
  switch (kind) {
    case 'topic': {
      const excluded = (exclude ?? '')
        .split(',')
        .map((word) => word.trim())
        .filter(Boolean);
      return { ...base, kind, text, exclude: excluded };
    }
    case 'author':
      return { ...base, kind, name: text };
    case 'category':
      return { ...base, kind, code: text };
    case 'paper': {
      const paper = await library.resolve(text);
      return { ...base, kind, paperId: paper.id, title: paper.title };
    }
    case 'question':
      return { ...base, kind, text };
  }
}
