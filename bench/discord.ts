import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import type { InteractionRecord } from '../test/discord/emulator/discordEmulator.js';
import { startBotHarness } from '../test/discord/helpers/botHarness.js';
import type { Benchmark } from './main.js';

/**
 * The Discord burst benchmark: N `/ask` interactions from N different users dispatched at once through the loopback
 * emulator to the real bot (real discord.js, real services on the seed library, hashing embedder, extractive answers).
 * Discord drops an interaction not acknowledged within 3 s; the emulator does the same, so "acknowledged" counts
 * only callbacks it accepted.
 */
export interface DiscordBenchResult {
  acknowledged: number;
  answered: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  total_s: number;
}

export interface DiscordBenchOptions {
  interactions: number;
  /** MAX_CONCURRENT_ANSWERS for the run; at the default of 4, a burst mostly gets "busy, try again". */
  maxConcurrent: number;
}

export const DEFAULT_DISCORD_BENCH_OPTIONS: DiscordBenchOptions = { interactions: 200, maxConcurrent: 200 };

const QUESTIONS = [
  'How do byte-level models avoid very long sequences?',
  'Which papers learn tokenization end to end?',
  'What is token-level preference optimization?',
  'How can a tokenizer be swapped without retraining?',
  'What makes in-context learning emerge?',
];

function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

function isAnswered(record: InteractionRecord): boolean {
  const embed = record.original?.embeds[0] as { footer?: { text?: string }; description?: string } | undefined;
  return Boolean(embed?.footer?.text?.startsWith('Model:') && embed.description?.includes('[1]'));
}

export async function runDiscordBench(options: Partial<DiscordBenchOptions> = {}, progress: (line: string) => void = () => {}): Promise<DiscordBenchResult> {
  const settings = { ...DEFAULT_DISCORD_BENCH_OPTIONS, ...options };
  progress('starting the emulator and the bot on the seed library');
  const harness = await startBotHarness({
    env: { ASK_COOLDOWN_SECONDS: '0', MAX_CONCURRENT_ANSWERS: String(settings.maxConcurrent) },
    heartbeatIntervalMs: 10_000,
  });
  try {
    const { emulator } = harness;
    progress(`dispatching ${settings.interactions} /ask interactions at once`);
    const started = performance.now();
    const records = Array.from({ length: settings.interactions }, (_, index) =>
      emulator.dispatchCommand('ask', {
        options: { question: QUESTIONS[index % QUESTIONS.length]! },
        user: { id: String(100_000_000_000_000_000n + BigInt(index)), username: `reader${index}` },
      }),
    );
    // Settled: answered, failed with a follow-up, or refused at once (busy) with an ephemeral reply.
    await Promise.all(
      records.map((record) =>
        emulator.waitForInteraction(record.id, (changed) => isAnswered(changed) || changed.followUps.length > 0 || changed.callbackType === 4, 120_000).catch(() => record),
      ),
    );
    const totalSeconds = (performance.now() - started) / 1000;
    const ackTimes = records
      .filter((record) => record.acknowledgedAt !== undefined)
      .map((record) => record.acknowledgedAt! - record.dispatchedAt)
      .sort((a, b) => a - b);
    return {
      acknowledged: ackTimes.filter((ms) => ms <= 3000).length,
      answered: records.filter(isAnswered).length,
      ack_p50_ms: percentile(ackTimes, 0.5),
      ack_p99_ms: percentile(ackTimes, 0.99),
      total_s: Math.round(totalSeconds * 100) / 100,
    };
  } finally {
    await harness.close();
  }
}

export const discordBenchmark: Benchmark = {
  name: 'discord',
  summary: '200 /ask interactions at once through the Discord emulator: acknowledged within 3 s, answered, ack p50/p99',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      n: { type: 'string' },
      'max-concurrent': { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const defaults = DEFAULT_DISCORD_BENCH_OPTIONS;
    const options: DiscordBenchOptions = {
      interactions: parseCount(values.n, '--n', defaults.interactions, 5000),
      maxConcurrent: parseCount(values['max-concurrent'], '--max-concurrent', defaults.maxConcurrent, 5000),
    };
    const result = await runDiscordBench(options, (line) => process.stderr.write(`bench discord: ${line}\n`));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    process.stdout.write(
      [
        `interactions   ${options.interactions} /ask from ${options.interactions} users, dispatched at once (MAX_CONCURRENT_ANSWERS=${options.maxConcurrent})`,
        `acknowledged   ${result.acknowledged}/${options.interactions} within 3 s`,
        `answered       ${result.answered}/${options.interactions} with a cited answer`,
        `ack latency    p50 ${result.ack_p50_ms} ms, p99 ${result.ack_p99_ms} ms`,
        `total          ${result.total_s} s`,
      ].join('\n') + '\n',
    );
  },
};
