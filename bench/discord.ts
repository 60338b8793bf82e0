import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { silentLogger } from '../src/logger.js';
import { loadPapersFromSource } from '../src/papers/ingest.js';
import { createServices } from '../src/services.js';
import type { InteractionRecord } from '../test/discord/emulator/discordEmulator.js';
import { startBotOnLibrary } from '../test/discord/helpers/botHarness.js';
import { generatePapers, readSentencePool } from './libraryCorpus.js';
import type { Benchmark } from './main.js';

/**
 * The Discord burst benchmark: N `/ask` interactions from N different users dispatched at once through the loopback
 * emulator to the real bot (real discord.js, real services, hashing embedder, extractive answers), on the seed
 * library or on one of `--library-size` generated papers. Discord drops an interaction not acknowledged within 3 s;
 * the emulator does the same, so "acknowledged" counts only callbacks it accepted.
 */
export interface DiscordBenchResult {
  /** Papers in the library the bot answered from. */
  library_size: number;
  /** WORKER_THREADS of the run (0: everything on the thread that talks to Discord). */
  worker_threads: number;
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
  /** 0: the seed library; otherwise a library of this many generated papers, asked SciFact's claims. */
  librarySize: number;
  /** WORKER_THREADS for the run. */
  threads: number;
}

export const DEFAULT_DISCORD_BENCH_OPTIONS: DiscordBenchOptions = { interactions: 200, maxConcurrent: 200, librarySize: 0, threads: 1 };

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

const SCIFACT_CORPUS = '../shared/eval/scifact/corpus.jsonl.gz';
const SCIFACT_TRAIN_QUERIES = '../shared/eval/scifact/queries-train.jsonl';
const GENERATED_BATCH = 2_000;

/**
 * A library in a new temp DATA_DIR: the seed papers, or `size` generated ones added in batches, as a bulk ingest
 * adds them. Returns the directory (the caller removes it) and the questions to ask of it.
 */
async function buildLibrary(size: number, progress: (line: string) => void): Promise<{ dataDir: string; papers: number; questions: string[] }> {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-bench-discord-'));
  const services = await createServices(loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' }), silentLogger());
  try {
    if (size === 0) {
      await services.library.add(await loadPapersFromSource('seeds'));
      return { dataDir, papers: await services.library.count(), questions: QUESTIONS };
    }
    // The library benchmark's papers: SciFact sentences recombined; its claims are what they are about.
    const pool = await readSentencePool(SCIFACT_CORPUS, SCIFACT_TRAIN_QUERIES);
    const started = performance.now();
    for (let start = 0; start < size; start += GENERATED_BATCH) {
      await services.library.add([...generatePapers(pool, Math.min(GENERATED_BATCH, size - start), 1, start)]);
      const papers = await services.library.count();
      progress(`library: ${papers}/${size} generated papers (${Math.round(papers / ((performance.now() - started) / 1000))} papers/s)`);
    }
    return { dataDir, papers: await services.library.count(), questions: pool.claims };
  } finally {
    await services.close();
  }
}

export async function runDiscordBench(options: Partial<DiscordBenchOptions> = {}, progress: (line: string) => void = () => {}): Promise<DiscordBenchResult> {
  const settings = { ...DEFAULT_DISCORD_BENCH_OPTIONS, ...options };
  progress(settings.librarySize === 0 ? 'building the seed library' : `building a library of ${settings.librarySize} generated papers`);
  const library = await buildLibrary(settings.librarySize, progress);
  try {
    progress(`starting the emulator and the bot (WORKER_THREADS=${settings.threads}) on ${library.papers} papers`);
    const opened = performance.now();
    const bot = await startBotOnLibrary(library.dataDir, {
      env: { ASK_COOLDOWN_SECONDS: '0', MAX_CONCURRENT_ANSWERS: String(settings.maxConcurrent), WORKER_THREADS: String(settings.threads) },
      heartbeatIntervalMs: 10_000,
    });
    progress(`bot ready in ${((performance.now() - opened) / 1000).toFixed(1)} s`);
    try {
      return { library_size: library.papers, worker_threads: settings.threads, ...(await burst(bot.emulator, library.questions, settings, progress)) };
    } finally {
      await bot.close();
    }
  } finally {
    await rm(library.dataDir, { recursive: true, force: true });
  }
}

async function burst(
  emulator: Awaited<ReturnType<typeof startBotOnLibrary>>['emulator'],
  questions: readonly string[],
  settings: DiscordBenchOptions,
  progress: (line: string) => void,
): Promise<Omit<DiscordBenchResult, 'library_size' | 'worker_threads'>> {
  progress(`dispatching ${settings.interactions} /ask interactions at once`);
  const started = performance.now();
  const records = Array.from({ length: settings.interactions }, (_, index) =>
    emulator.dispatchCommand('ask', {
      options: { question: questions[index % questions.length]!.slice(0, 500) },
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
}

export const discordBenchmark: Benchmark = {
  name: 'discord',
  summary: '200 /ask interactions at once through the Discord emulator: acknowledged within 3 s, answered, ack p50/p99',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      n: { type: 'string' },
      'max-concurrent': { type: 'string' },
      'library-size': { type: 'string' },
      threads: { type: 'string' },
      json: { type: 'boolean', default: false },
    });
    const defaults = DEFAULT_DISCORD_BENCH_OPTIONS;
    const options: DiscordBenchOptions = {
      interactions: parseCount(values.n, '--n', defaults.interactions, 5000),
      maxConcurrent: parseCount(values['max-concurrent'], '--max-concurrent', defaults.maxConcurrent, 5000),
      librarySize: values['library-size'] === '0' ? 0 : parseCount(values['library-size'], '--library-size', defaults.librarySize, 1_000_000),
      threads: values.threads === '0' ? 0 : parseCount(values.threads, '--threads', defaults.threads, 16),
    };
    const result = await runDiscordBench(options, (line) => process.stderr.write(`bench discord: ${line}\n`));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    process.stdout.write(
      [
        `library        ${result.library_size} papers (${options.librarySize === 0 ? 'the seeds' : 'generated'}), WORKER_THREADS=${options.threads}`,
        `interactions   ${options.interactions} /ask from ${options.interactions} users, dispatched at once (MAX_CONCURRENT_ANSWERS=${options.maxConcurrent})`,
        `acknowledged   ${result.acknowledged}/${options.interactions} within 3 s`,
        `answered       ${result.answered}/${options.interactions} with a cited answer`,
        `ack latency    p50 ${result.ack_p50_ms} ms, p99 ${result.ack_p99_ms} ms`,
        `total          ${result.total_s} s`,
      ].join('\n') + '\n',
    );
  },
};
