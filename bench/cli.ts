import { spawn } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { UsageError } from '../src/errors.js';
import type { Benchmark } from './benchmark.js';

/**
 * The CLI's wall time on a library, Node's start included, the ways it can be started side by side in one run:
 * `npm run cli` (scripts/cli.mjs: compiled JavaScript, after checking that no source changed), the package's bin
 * (`node dist/src/cli/main.js`), and `node --import tsx src/cli/main.ts` (what `npm run cli` ran before). Each
 * round runs every start-up once per command, in a rotating order, so a burst of load on the machine is shared.
 */

const HERE = path.dirname(fileURLToPath(import.meta.url));
const REPO = path.resolve(HERE, '..');
const DEFAULT_QUERY = 'transformer attention for protein structure prediction';

interface Startup {
  name: string;
  command: string;
  args: string[];
}

const STARTUPS: readonly Startup[] = [
  { name: 'npm run cli', command: 'npm', args: ['run', '-s', 'cli', '--'] },
  { name: 'bin (dist)', command: process.execPath, args: [path.join(REPO, 'dist/src/cli/main.js')] },
  { name: 'tsx', command: process.execPath, args: ['--import', 'tsx', path.join(REPO, 'src/cli/main.ts')] },
];

interface Timed {
  seconds: number;
  stdout: string;
  stderr: string;
  code: number | null;
}

function timed(startup: Startup, args: string[], env: NodeJS.ProcessEnv): Promise<Timed> {
  return new Promise((resolve, reject) => {
    const startedAt = performance.now();
    const child = spawn(startup.command, [...startup.args, ...args], { cwd: REPO, env });
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ seconds: (performance.now() - startedAt) / 1000, stdout, stderr, code }));
  });
}

function median(values: readonly number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  const middle = Math.floor(sorted.length / 2);
  return sorted.length % 2 === 1 ? sorted[middle]! : (sorted[middle - 1]! + sorted[middle]!) / 2;
}

const round2 = (value: number) => Math.round(value * 100) / 100;
const loadAverage = () =>
  os
    .loadavg()
    .map((load) => load.toFixed(2))
    .join(' ');

export const cliBenchmark: Benchmark = {
  name: 'cli',
  summary: 'wall time of `papercord stats` / `search` on a library (--data-dir): npm run cli vs the bin vs tsx',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      'data-dir': { type: 'string' },
      runs: { type: 'string' },
      query: { type: 'string', default: DEFAULT_QUERY },
      json: { type: 'boolean', default: false },
    });
    const dataDir = values['data-dir'];
    if (!dataDir)
      throw new UsageError('--data-dir <folder> names the library to time the CLI on (DATA_DIR); it is only read');
    const runs = parseCount(values.runs, '--runs', 3, 100);
    const env = { ...process.env, DATA_DIR: path.resolve(dataDir) };
    const commands: Array<{ name: string; args: string[] }> = [
      { name: 'help', args: ['help'] },
      { name: 'stats', args: ['stats', '--json'] },
      { name: 'search', args: ['search', values.query, '-k', '5', '--json'] },
    ];

    // Compiles what changed (the first `npm run cli` after an edit), so that rounds time the start a user sees most.
    const warmUp = await timed(STARTUPS[0]!, ['stats', '--json'], env);
    if (warmUp.code !== 0)
      throw new Error(`npm run cli -- stats failed (exit ${warmUp.code}): ${warmUp.stderr.trim()}`);
    const papers = (JSON.parse(warmUp.stdout) as { papers: number }).papers;
    const loadBefore = loadAverage();
    process.stderr.write(`cli bench: ${papers} papers in ${env.DATA_DIR}, ${runs} rounds (load: ${loadBefore})\n`);

    const seconds = new Map<string, number[]>();
    const outputs = new Map<string, string>();
    for (let round = 0; round < runs; round += 1) {
      for (const command of commands) {
        for (let index = 0; index < STARTUPS.length; index += 1) {
          const startup = STARTUPS[(index + round) % STARTUPS.length]!;
          const result = await timed(startup, command.args, env);
          if (result.code !== 0)
            throw new Error(
              `${startup.name} ${command.args.join(' ')} failed (exit ${result.code}): ${result.stderr.trim()}`,
            );
          // Every way of starting must print the same thing: the same code, the same library.
          const expected = outputs.get(command.name) ?? result.stdout;
          if (command.name !== 'help' && result.stdout !== expected)
            throw new Error(
              `${startup.name} ${command.name} printed something else than the others:\n${result.stdout}\n---\n${expected}`,
            );
          outputs.set(command.name, expected);
          const key = `${command.name}\t${startup.name}`;
          seconds.set(key, [...(seconds.get(key) ?? []), result.seconds]);
        }
      }
      process.stderr.write(`  round ${round + 1}/${runs} done (load: ${loadAverage()})\n`);
    }
    const loadAfter = loadAverage();

    const rows = commands.flatMap((command) =>
      STARTUPS.map((startup) => {
        const times = seconds.get(`${command.name}\t${startup.name}`)!;
        return {
          command: command.name,
          startup: startup.name,
          median_s: round2(median(times)),
          min_s: round2(Math.min(...times)),
          max_s: round2(Math.max(...times)),
        };
      }),
    );
    if (values.json) {
      process.stdout.write(
        `${JSON.stringify({ papers, runs, load_before: loadBefore, load_after: loadAfter, results: rows })}\n`,
      );
      return;
    }
    process.stdout.write(`command\tstarted as\tmedian s\tmin s\tmax s\ttsx median / this\n`);
    for (const row of rows) {
      const tsx = rows.find((other) => other.command === row.command && other.startup === 'tsx')!;
      process.stdout.write(
        `${row.command}\t${row.startup}\t${row.median_s}\t${row.min_s}\t${row.max_s}\t${(tsx.median_s / row.median_s).toFixed(2)}\n`,
      );
    }
    process.stdout.write(`${papers} papers; load average ${loadBefore} before, ${loadAfter} after\n`);
  },
};
