import { fork, type ChildProcess } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { ingestInBatches } from '../src/library/bulkIngest.js';
import { PaperPreparer } from '../src/library/preparer.js';
import { silentLogger } from '../src/logger.js';
import { loadPapersFromSource } from '../src/papers/ingest.js';
import { createServices } from '../src/services.js';
import { DiscordEmulator } from '../src/emulator/discordEmulator.js';
import { connectBot, TEST_TOKEN, type ConnectedBot } from './support/botHarness.js';
import { runBurst, type BurstOutcome, type BurstRequest } from './discordBurst.js';
import type { EmulatorProcessReply, EmulatorProcessRequest } from './discordEmulatorProcess.js';
import { generatePapers, readSentencePool } from './libraryCorpus.js';
import type { Benchmark } from './benchmark.js';

/**
 * The Discord burst benchmark: N `/ask` interactions from N different users dispatched at once through the loopback
 * emulator to the real bot (real discord.js, real services, hashing embedder, extractive answers), on the seed
 * library or on one of `--library-size` generated papers. Discord drops an interaction not acknowledged within 3 s;
 * the emulator does the same, so "acknowledged" counts only callbacks it accepted.
 *
 * The emulator runs in a process of its own (Discord's servers never share the bot's CPU); `--emulator-in-process`
 * puts it back in the bot's thread, to see what it costs there.
 */
export interface DiscordBenchResult extends BurstOutcome {
  /** Papers in the library the bot answered from. */
  library_size: number;
  /** WORKER_THREADS of the run (0: everything on the thread that talks to Discord). */
  worker_threads: number;
  /** Where the emulator ran. */
  emulator: 'process' | 'in-process';
  /** The machine's 1-minute load average when the burst started and when it ended (2 cores). */
  load_avg: [number, number];
}

export interface DiscordBenchOptions {
  interactions: number;
  /** MAX_CONCURRENT_ANSWERS for the run; at the default of 4, a burst mostly gets "busy, try again". */
  maxConcurrent: number;
  /** 0: the seed library; otherwise a library of this many generated papers, asked SciFact's claims. */
  librarySize: number;
  /** WORKER_THREADS for the run. */
  threads: number;
  /** Where the library is built and kept; a library already there is used as it is. A temp dir removed after the run when absent. */
  dataDir?: string;
  emulatorInProcess: boolean;
  /** How long one interaction may take to be answered before it counts as timed out. */
  settleTimeoutMs: number;
}

export const DEFAULT_DISCORD_BENCH_OPTIONS: DiscordBenchOptions = {
  interactions: 200,
  maxConcurrent: 200,
  librarySize: 0,
  threads: 1,
  emulatorInProcess: false,
  settleTimeoutMs: 600_000,
};

const QUESTIONS = [
  'How do byte-level models avoid very long sequences?',
  'Which papers learn tokenization end to end?',
  'What is token-level preference optimization?',
  'How can a tokenizer be swapped without retraining?',
  'What makes in-context learning emerge?',
];

const HERE = path.dirname(fileURLToPath(import.meta.url));
const SCIFACT_CORPUS = path.join(HERE, '../../shared/eval/scifact/corpus.jsonl.gz');
const SCIFACT_TRAIN_QUERIES = path.join(HERE, '../../shared/eval/scifact/queries-train.jsonl');
/** Papers per commit, as `papercord ingest` commits them. */
const INGEST_BATCH = 500;

/**
 * The library in `dataDir`: used as it is when it holds papers; otherwise filled with the seed papers, or with `size`
 * generated ones (`bench library`'s generator, same seed, so a library `bench library --keep` built is the same one)
 * added as `papercord ingest` adds a large source: in batches, embedded on a worker thread.
 */
async function prepareLibrary(
  dataDir: string,
  size: number,
  progress: (line: string) => void,
): Promise<{ papers: number; questions: string[] }> {
  const config = loadConfig({ DATA_DIR: dataDir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' });
  const logger = silentLogger();
  const services = await createServices(config, logger);
  try {
    const held = await services.library.count();
    const questions = size === 0 ? QUESTIONS : (await readSentencePool(SCIFACT_CORPUS, SCIFACT_TRAIN_QUERIES)).claims;
    if (held > 0) {
      progress(`using the library of ${held} papers already in ${dataDir}`);
      return { papers: held, questions };
    }
    if (size === 0) {
      await services.library.add(await loadPapersFromSource('seeds'));
      return { papers: await services.library.count(), questions };
    }
    progress(`building a library of ${size} generated papers in ${dataDir}`);
    const pool = await readSentencePool(SCIFACT_CORPUS);
    const preparer = await PaperPreparer.start(config, services.embedder, logger);
    const started = performance.now();
    let reported = started;
    try {
      await ingestInBatches(services.library, generatePapers(pool, size), {
        batchSize: INGEST_BATCH,
        prepare: preparer && ((papers) => preparer.prepare(papers)),
        onProgress: ({ done }) => {
          if (performance.now() - reported < 10_000) return;
          reported = performance.now();
          progress(`library: ${done}/${size} papers (${Math.round(done / ((reported - started) / 1000))} papers/s)`);
        },
      });
    } finally {
      await preparer?.close();
    }
    progress(`library built in ${((performance.now() - started) / 1000).toFixed(0)} s`);
    return { papers: await services.library.count(), questions };
  } finally {
    await services.close();
  }
}

/** The emulator and a way to run a burst on it, wherever it runs. */
interface EmulatorSide {
  apiBase: string;
  burst(request: BurstRequest): Promise<BurstOutcome>;
  close(): Promise<void>;
}

async function startEmulatorInProcess(): Promise<EmulatorSide> {
  const emulator = new DiscordEmulator({ token: TEST_TOKEN, heartbeatIntervalMs: 10_000 });
  await emulator.start();
  return { apiBase: emulator.apiBase, burst: (request) => runBurst(emulator, request), close: () => emulator.close() };
}

async function startEmulatorProcess(): Promise<EmulatorSide> {
  // Under tsx (npm run bench) the child needs the same loader to read TypeScript.
  const execArgv = process.execArgv.some((arg) => arg.includes('tsx'))
    ? process.execArgv
    : [...process.execArgv, '--import', 'tsx'];
  const child = fork(path.join(HERE, 'discordEmulatorProcess.ts'), [TEST_TOKEN], {
    execArgv,
    stdio: ['ignore', 'inherit', 'inherit', 'ipc'],
  });
  const exited = new Promise<never>((_, reject) =>
    child.once('exit', (code) => reject(new Error(`the emulator process exited (code ${code})`))),
  );
  exited.catch(() => undefined);
  const next = () =>
    Promise.race([
      new Promise<EmulatorProcessReply>((resolve) =>
        child.once('message', (reply: EmulatorProcessReply) => resolve(reply)),
      ),
      exited,
    ]);
  const ready = await next();
  if (!('ready' in ready)) throw new Error(`the emulator process did not start: ${JSON.stringify(ready)}`);
  return {
    apiBase: ready.ready,
    async burst(request) {
      const reply = next();
      child.send({ burst: request } satisfies EmulatorProcessRequest);
      const answered = await reply;
      if ('outcome' in answered) return answered.outcome;
      throw new Error(
        `the emulator process failed: ${'error' in answered ? answered.error : JSON.stringify(answered)}`,
      );
    },
    close: () => stopChild(child),
  };
}

async function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  child.send({ close: true } satisfies EmulatorProcessRequest);
  const timer = setTimeout(() => child.kill(), 5_000);
  await exited;
  clearTimeout(timer);
}

const oneMinuteLoad = () => Math.round(os.loadavg()[0]! * 100) / 100;

export async function runDiscordBench(
  options: Partial<DiscordBenchOptions> = {},
  progress: (line: string) => void = () => {},
): Promise<DiscordBenchResult> {
  const settings = { ...DEFAULT_DISCORD_BENCH_OPTIONS, ...options };
  const dataDir = settings.dataDir ?? (await mkdtemp(path.join(os.tmpdir(), 'papercord-bench-discord-')));
  try {
    const library = await prepareLibrary(dataDir, settings.librarySize, progress);
    progress(
      `starting the emulator (${settings.emulatorInProcess ? 'in this process' : 'own process'}) and the bot (WORKER_THREADS=${settings.threads}) on ${library.papers} papers`,
    );
    const emulator = settings.emulatorInProcess ? await startEmulatorInProcess() : await startEmulatorProcess();
    let bot: ConnectedBot | undefined;
    try {
      const opened = performance.now();
      bot = await connectBot(dataDir, emulator.apiBase, {
        env: {
          ASK_COOLDOWN_SECONDS: '0',
          MAX_CONCURRENT_ANSWERS: String(settings.maxConcurrent),
          WORKER_THREADS: String(settings.threads),
        },
      });
      progress(
        `bot ready in ${((performance.now() - opened) / 1000).toFixed(1)} s; dispatching ${settings.interactions} /ask interactions at once (load ${oneMinuteLoad()})`,
      );
      const loadBefore = oneMinuteLoad();
      const outcome = await emulator.burst({
        interactions: settings.interactions,
        questions: library.questions,
        settleTimeoutMs: settings.settleTimeoutMs,
      });
      return {
        library_size: library.papers,
        worker_threads: settings.threads,
        ...outcome,
        emulator: settings.emulatorInProcess ? 'in-process' : 'process',
        load_avg: [loadBefore, oneMinuteLoad()],
      };
    } finally {
      await bot?.close();
      await emulator.close();
    }
  } finally {
    if (!settings.dataDir) await rm(dataDir, { recursive: true, force: true });
  }
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
      'data-dir': { type: 'string' },
      'emulator-in-process': { type: 'boolean', default: false },
      json: { type: 'boolean', default: false },
    });
    const defaults = DEFAULT_DISCORD_BENCH_OPTIONS;
    const options: DiscordBenchOptions = {
      ...defaults,
      interactions: parseCount(values.n, '--n', defaults.interactions, 5000),
      maxConcurrent: parseCount(values['max-concurrent'], '--max-concurrent', defaults.maxConcurrent, 5000),
      librarySize:
        values['library-size'] === '0'
          ? 0
          : parseCount(values['library-size'], '--library-size', defaults.librarySize, 1_000_000),
      threads: values.threads === '0' ? 0 : parseCount(values.threads, '--threads', defaults.threads, 16),
      ...(values['data-dir'] ? { dataDir: path.resolve(values['data-dir']) } : {}),
      emulatorInProcess: values['emulator-in-process'],
    };
    const result = await runDiscordBench(options, (line) => process.stderr.write(`bench discord: ${line}\n`));
    if (values.json) {
      process.stdout.write(`${JSON.stringify(result)}\n`);
      return;
    }
    const { answers, unanswered } = result;
    process.stdout.write(
      [
        `library        ${result.library_size} papers (${options.librarySize === 0 ? 'the seeds' : 'generated'}), WORKER_THREADS=${options.threads}, emulator ${result.emulator}`,
        `interactions   ${options.interactions} /ask from ${options.interactions} users, dispatched at once (MAX_CONCURRENT_ANSWERS=${options.maxConcurrent})`,
        `acknowledged   ${result.acknowledged}/${options.interactions} within 3 s`,
        `answered       ${result.answered}/${options.interactions}: ${answers.cited} cited, ${answers.low_confidence} low confidence, ${answers.abstained} abstained`,
        `not answered   ${unanswered.busy} busy, ${unanswered.failed} failed, ${unanswered.timed_out} timed out`,
        `ack latency    p50 ${result.ack_p50_ms} ms, p99 ${result.ack_p99_ms} ms`,
        `answer latency p50 ${result.answer_p50_ms} ms, p99 ${result.answer_p99_ms} ms`,
        `total          ${result.total_s} s (load average ${result.load_avg[0]} → ${result.load_avg[1]})`,
      ].join('\n') + '\n',
    );
  },
};
