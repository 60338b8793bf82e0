import { UsageError, UserError } from '../../errors.js';
import { isIsoDate, SourceError, SOURCE_NAMES, type SourceName } from '../../papers/sources/index.js';
import { formatDigestText } from '../../trending/format.js';
import { parseTopics } from '../../trending/subscriptions.js';
import { parseCommandArgs, parseCount, type CliCommand } from '../command.js';

const DEFAULT_COUNT = 5;
const MAX_COUNT = 50;

export const trendingCommand: CliCommand = {
  usage: [
    'papercord trending [--date YYYY-MM-DD] [--source hf|arxiv|seeds] [--count N] [--topics "a, b"] [--json]',
    '',
    '  --date     the day (default: today, UTC); a day without papers falls back up to 3 days',
    '  --source   hf (Hugging Face Daily Papers), arxiv (ARXIV_CATEGORY) or seeds (offline); default TRENDING_SOURCE',
    `  --count    papers in the digest (1 to ${MAX_COUNT}, default ${DEFAULT_COUNT})`,
    '  --topics   comma-separated topics; keeps papers that mention one or are close to it in meaning',
    '  --json     print {"date","papers":[{"id","title","upvotes","url","tldr"}],"themes":[{"label","paperIds"}]}',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, {
      date: { type: 'string' },
      source: { type: 'string' },
      count: { type: 'string' },
      topics: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    if (values.date !== undefined && !isIsoDate(values.date)) {
      throw new UsageError(`--date expects a day as YYYY-MM-DD (got "${values.date}")`);
    }
    const source = values.source ?? context.config.TRENDING_SOURCE;
    if (!(SOURCE_NAMES as readonly string[]).includes(source)) {
      throw new UsageError(`--source expects one of ${SOURCE_NAMES.join(', ')} (got "${source}")`);
    }
    const count = parseCount(values.count, '--count', DEFAULT_COUNT, MAX_COUNT);
    const { trending } = await context.services();
    const digest = await trending
      .digest({
        date: values.date,
        source: source as SourceName,
        count,
        topics: parseTopics(values.topics),
        signal: context.signal,
      })
      .catch((error: unknown) => {
        // Offline (as on many a laptop), the one source that still works is worth naming.
        if (error instanceof SourceError && source !== 'seeds') {
          throw new UserError(`${error.message} (no network? \`--source seeds\` works offline)`, { cause: error });
        }
        throw error;
      });
    if (values.json) {
      const output = {
        date: digest.date,
        papers: digest.papers.map(({ id, title, upvotes, url, tldr }) => ({ id, title, upvotes, url, tldr })),
        themes: digest.themes.map(({ label, paperIds }) => ({ label, paperIds })),
      };
      context.stdout.write(`${JSON.stringify(output)}\n`);
      return;
    }
    context.stdout.write(`${formatDigestText(digest, source)}\n`);
  },
};
