import { setTimeout as delay } from 'node:timers/promises';
import v8 from 'node:v8';
import vm from 'node:vm';
import { UsageError } from '../src/errors.js';
import { parseCommandArgs } from '../src/cli/command.js';
import { commandModules } from '../commands/index.js';
import { loadCommands } from '../src/discord/commandLoader.js';
import { APOLOGY } from '../src/discord/router.js';
import { instrumentCommands } from '../src/ops/instrument.js';
import { createMetrics } from '../src/ops/metrics.js';
import type { DiscordEmulator, EmulatedUser, InteractionRecord, JsonObject } from '../src/emulator/discordEmulator.js';
import { startBotHarness } from './support/botHarness.js';
import type { Benchmark } from './benchmark.js';

/**
 * The soak: mixed Discord traffic (/ask, /search, /paper, /similar, /compare, autocomplete, mentions) at a fixed
 * rate for minutes, through the loopback emulator to the real bot on real services (seed library, hashing embedder,
 * extractive answers), in this process. An error is an interaction Discord would drop (not acknowledged within 3 s),
 * one never answered, or one answered with the apology for a bug. RSS is taken after a full GC, once after a
 * warm-up and once at the end; the emulator keeps a bounded history so that the growth measured is the bot's.
 */
export interface SoakResult {
  minutes: number;
  requests: number;
  errors: number;
  rss_start_mb: number;
  rss_end_mb: number;
  rss_growth_pct: number;
  p50_ms: number;
  p99_ms: number;
}

export interface SoakOptions {
  minutes: number;
  /** Requests started per second, evenly spaced. */
  ratePerSecond: number;
  /** Traffic before RSS is first taken: caches, JIT and heap settle first. */
  warmupSeconds: number;
  /** Distinct users the traffic comes from. */
  users: number;
  /** How long a request may take to be answered before it counts as an error. */
  answerTimeoutMs: number;
}

export const DEFAULT_SOAK_OPTIONS: SoakOptions = {
  minutes: 2,
  ratePerSecond: 5,
  warmupSeconds: 15,
  users: 500,
  answerTimeoutMs: 20_000,
};

/** Discord drops an interaction not acknowledged within this. */
const ACK_DEADLINE_MS = 3_000;
const LOADING_FLAG = 128;

const QUESTIONS = [
  'How do byte-level models avoid very long sequences?',
  'Which papers learn tokenization end to end?',
  'What is token-level preference optimization?',
  'How can a tokenizer be swapped without retraining?',
  'What makes in-context learning emerge?',
  'What is retrieval augmented generation?',
];

interface Outcome {
  ok: boolean;
  latencyMs: number;
  /** Why it failed, for the first few failures printed. */
  problem?: string;
}

type Operation = (user: EmulatedUser, turn: number) => Promise<Outcome>;

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

/**
 * RSS after a full garbage collection: without one, where in its GC cycle the heap happens to be swings RSS by more
 * than the growth being measured.
 */
function settledRss(): number {
  v8.setFlagsFromString('--expose-gc');
  (vm.runInNewContext('gc') as () => void)();
  return process.memoryUsage().rss;
}

const megabytes = (bytes: number) => Math.round((bytes / 1024 / 1024) * 10) / 10;

function textsOf(record: InteractionRecord): string[] {
  const callback = (record.callbackBody?.data ?? {}) as JsonObject;
  return [callback.content, record.original?.content, ...record.followUps.map((message) => message.content)].filter(
    (text): text is string => typeof text === 'string',
  );
}

/** Answered: an immediate reply, a deferred reply edited with its answer, or an error shown after the defer. */
function isSettled(record: InteractionRecord): boolean {
  if (record.kind === 'autocomplete') return record.callbackType === 8;
  if (record.callbackType === 4) return true;
  const original = record.original;
  if (original && (original.flags & LOADING_FLAG) === 0 && (original.content !== '' || original.embeds.length > 0))
    return true;
  return Boolean(record.originalDeleted && record.followUps.length > 0);
}

async function settleInteraction(
  emulator: DiscordEmulator,
  record: InteractionRecord,
  timeoutMs: number,
): Promise<Outcome> {
  const settled = await emulator.waitForInteraction(record.id, isSettled, timeoutMs).catch(() => undefined);
  const latencyMs = Date.now() - record.dispatchedAt;
  const name = record.kind === 'autocomplete' ? `${record.commandName} autocomplete` : `/${record.commandName}`;
  if (record.acknowledgedAt === undefined || record.acknowledgedAt - record.dispatchedAt > ACK_DEADLINE_MS) {
    return { ok: false, latencyMs, problem: `${name}: not acknowledged within ${ACK_DEADLINE_MS} ms` };
  }
  if (!settled) return { ok: false, latencyMs, problem: `${name}: not answered within ${timeoutMs} ms` };
  if (textsOf(record).some((text) => text.includes(APOLOGY)))
    return { ok: false, latencyMs, problem: `${name}: answered with the apology` };
  if (record.kind === 'autocomplete') {
    const choices = ((record.callbackBody?.data ?? {}) as JsonObject).choices;
    if (!Array.isArray(choices) || choices.length === 0)
      return { ok: false, latencyMs, problem: `${name}: no suggestions` };
  }
  return { ok: true, latencyMs };
}

function operations(emulator: DiscordEmulator, titles: readonly string[], timeoutMs: number): Operation[] {
  const title = (turn: number, offset = 0) => titles[(turn + offset) % titles.length]!;
  const command =
    (name: string, options: (turn: number) => Record<string, string>): Operation =>
    (user, turn) =>
      settleInteraction(emulator, emulator.dispatchCommand(name, { options: options(turn), user }), timeoutMs);
  return [
    command('ask', (turn) => ({ question: QUESTIONS[turn % QUESTIONS.length]! })),
    command('search', (turn) => ({ query: QUESTIONS[turn % QUESTIONS.length]! })),
    command('paper', (turn) => ({ paper: title(turn) })),
    command('similar', (turn) => ({ paper: title(turn) })),
    command('compare', (turn) => ({ paper_a: title(turn), paper_b: title(turn, 1) })),
    (user, turn) => {
      // What a user has typed so far: the first word of a title.
      const typed = title(turn).split(/\s+/)[0]!.slice(0, 12);
      return settleInteraction(
        emulator,
        emulator.dispatchAutocomplete('paper', { options: { paper: typed }, focused: 'paper', user }),
        timeoutMs,
      );
    },
    async (user, turn) => {
      const question = emulator.dispatchMessage(`${emulator.botMention} ${QUESTIONS[turn % QUESTIONS.length]!}`, {
        author: user,
      });
      const started = Date.now();
      // The answer goes to a thread started on the question, which takes the question's id.
      const answer = await emulator.waitForBotMessage(question.id, () => true, timeoutMs).catch(() => undefined);
      const latencyMs = Date.now() - started;
      if (!answer) return { ok: false, latencyMs, problem: `mention: not answered within ${timeoutMs} ms` };
      if (answer.content.includes(APOLOGY))
        return { ok: false, latencyMs, problem: 'mention: answered with the apology' };
      return { ok: true, latencyMs };
    },
  ];
}

/** Starts `operation`s at a fixed rate until `durationMs` is over, then waits for all of them to finish. */
async function drive(
  durationMs: number,
  ratePerSecond: number,
  start: (turn: number) => Promise<Outcome>,
): Promise<Outcome[]> {
  const intervalMs = 1000 / ratePerSecond;
  const began = performance.now();
  const running: Array<Promise<Outcome>> = [];
  for (let turn = 0; turn * intervalMs < durationMs; turn += 1) {
    const wait = began + turn * intervalMs - performance.now();
    if (wait > 0) await delay(wait);
    running.push(start(turn));
  }
  return Promise.all(running);
}

export async function runSoak(
  options: Partial<SoakOptions> = {},
  progress: (line: string) => void = () => {},
): Promise<SoakResult & { problems: string[] }> {
  const settings = { ...DEFAULT_SOAK_OPTIONS, ...options };
  const metrics = createMetrics();
  progress('starting the emulator and the bot on the seed library');
  const harness = await startBotHarness({
    heartbeatIntervalMs: 10_000,
    historyLimit: 100,
    metrics,
    commands: instrumentCommands(loadCommands(commandModules), metrics),
  });
  const { emulator, bot, services } = harness;
  try {
    const titles = (await services.library.all()).map((paper) => paper.title);
    const mix = operations(emulator, titles, settings.answerTimeoutMs);
    const users: EmulatedUser[] = Array.from({ length: settings.users }, (_, index) => ({
      id: String(300_000_000_000_000_000n + BigInt(index)),
      username: `reader${index}`,
    }));
    const startOne = (turn: number) =>
      mix[turn % mix.length]!(users[turn % users.length]!, Math.floor(turn / mix.length));

    progress(`warming up for ${settings.warmupSeconds} s at ${settings.ratePerSecond} requests/s`);
    await drive(settings.warmupSeconds * 1000, settings.ratePerSecond, startOne);
    const rssStart = settledRss();
    progress(
      `soaking for ${settings.minutes} min at ${settings.ratePerSecond} requests/s (RSS ${megabytes(rssStart)} MB, JS heap ${megabytes(process.memoryUsage().heapUsed)} MB)`,
    );
    const outcomes = await drive(settings.minutes * 60_000, settings.ratePerSecond, startOne);
    const rssEnd = settledRss();
    // Mention threads stay in the client's cache until Discord archives them (24 h) and the sweeper drops them (4 h later).
    progress(
      `done (RSS ${megabytes(rssEnd)} MB, JS heap ${megabytes(process.memoryUsage().heapUsed)} MB, ${bot.client.channels.cache.size} channels and threads cached)`,
    );

    const latencies = outcomes.map((outcome) => outcome.latencyMs).sort((a, b) => a - b);
    const failures = outcomes.filter((outcome) => !outcome.ok);
    return {
      minutes: settings.minutes,
      requests: outcomes.length,
      errors: failures.length,
      rss_start_mb: megabytes(rssStart),
      rss_end_mb: megabytes(rssEnd),
      rss_growth_pct: Math.round(((rssEnd - rssStart) / rssStart) * 1000) / 10,
      p50_ms: percentile(latencies, 0.5),
      p99_ms: percentile(latencies, 0.99),
      problems: [...new Set(failures.map((failure) => failure.problem ?? 'unknown'))],
    };
  } finally {
    await harness.close();
  }
}

function parsePositive(value: string | undefined, option: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const number = Number(value);
  if (!Number.isFinite(number) || number <= 0 || number > max)
    throw new UsageError(`${option} expects a number above 0, at most ${max} (got "${value}")`);
  return number;
}

export const soakBenchmark: Benchmark = {
  name: 'soak',
  summary: 'mixed Discord traffic at a fixed rate for M minutes (default 2): errors, RSS growth, p50/p99 latency',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      minutes: { type: 'string' },
      rate: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const options: Partial<SoakOptions> = {
      minutes: parsePositive(values.minutes, '--minutes', DEFAULT_SOAK_OPTIONS.minutes, 24 * 60),
      ratePerSecond: parsePositive(values.rate, '--rate', DEFAULT_SOAK_OPTIONS.ratePerSecond, 200),
    };
    const { problems, ...result } = await runSoak(options, (line) => process.stderr.write(`bench soak: ${line}\n`));
    for (const problem of problems.slice(0, 10)) process.stderr.write(`bench soak: error: ${problem}\n`);
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
    } else {
      process.stdout.write(
        [
          `traffic     ${result.requests} requests in ${result.minutes} min at ${options.ratePerSecond}/s (/ask, /search, /paper, /similar, /compare, autocomplete, mentions)`,
          `errors      ${result.errors}`,
          `RSS         ${result.rss_start_mb} MB after warm-up, ${result.rss_end_mb} MB at the end (${result.rss_growth_pct >= 0 ? '+' : ''}${result.rss_growth_pct}%)`,
          `latency     p50 ${result.p50_ms} ms, p99 ${result.p99_ms} ms (dispatch to answer)`,
        ].join('\n') + '\n',
      );
    }
    // A soak with errors fails, so CI can run it as a check.
    return result.errors === 0 ? 0 : 1;
  },
};
