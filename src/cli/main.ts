#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, readEnvironment, type Config } from '../config.js';
import { UsageError, describeError, isUserError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import type { SearchServices } from '../searchServices.js';
import type { Services } from '../services.js';
import type { CliOutput, CommandContext } from './command.js';
import { COMMANDS, type CommandEntry } from './commands/index.js';

/** Streams and environment of one CLI run; tests pass buffers and a made-up environment. */
export interface CliIo {
  stdout: CliOutput;
  stderr: CliOutput;
  env: Record<string, string | undefined>;
  /** Log lines go here instead of human-readable lines on stderr. */
  logDestination?: CliOutput;
  signal?: AbortSignal;
}

function generalUsage(): string {
  const width = Math.max(...COMMANDS.map((command) => command.name.length));
  return [
    'usage: papercord <command> [options]',
    '',
    'commands:',
    ...COMMANDS.map((command) => `  ${command.name.padEnd(width)}  ${command.summary}`),
    `  ${'help'.padEnd(width)}  show this list, or \`papercord help <command>\` for one command`,
  ].join('\n');
}

function findCommand(name: string): CommandEntry | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/**
 * Runs one command and returns the exit code: 0 done, 1 a problem the user can fix (or a bug), 2 bad arguments.
 * All error reporting happens here.
 */
/**
 * The CLI loads the local library's HNSW graph when a command first searches: `ingest`, `add` and `stats` never do,
 * and at 100,000 papers reading the graph is most of a short run.
 */
const CLI_LIBRARY = Object.freeze({ deferGraph: true });

export async function main(argv: string[], io: CliIo): Promise<number> {
  const fail = (message: string, code: number) => {
    io.stderr.write(`papercord: ${message}\n`);
    return code;
  };

  let config: Config;
  try {
    config = loadConfig(io.env);
  } catch (error) {
    if (error instanceof ConfigError) return fail(error.message, 1);
    throw error;
  }
  const logger: Logger = createLogger(config, io.logDestination ? { destination: io.logDestination } : { human: true });

  const [name, ...args] = argv;
  if (name === undefined) {
    io.stderr.write(`${generalUsage()}\n`);
    return 2;
  }
  if (name === 'help' || name === '--help' || name === '-h') {
    const topic = args[0] === undefined ? undefined : findCommand(args[0]);
    if (args[0] !== undefined && !topic) return fail(`unknown command "${args[0]}"\n\n${generalUsage()}`, 2);
    io.stdout.write(`${topic ? (await topic.load()).usage : generalUsage()}\n`);
    return 0;
  }
  const entry = findCommand(name);
  if (!entry) return fail(`unknown command "${name}"\n\n${generalUsage()}`, 2);
  const command = await entry.load();
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }

  // Imported when a command first asks: the services' modules take most of a start-up, and `search` needs a few.
  let search: Promise<SearchServices> | undefined;
  let services: Promise<Services> | undefined;
  const context: CommandContext = {
    config,
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: io.signal ?? new AbortController().signal,
    searchServices: () =>
      (search ??=
        services ??
        import('../searchServices.js').then(({ createSearchServices }) =>
          createSearchServices(config, logger, { signal: io.signal, library: CLI_LIBRARY }),
        )),
    services: () =>
      (services ??= (async () => {
        const { createServices } = await import('../services.js');
        // What `searchServices()` built is taken over, not opened twice.
        return createServices(config, logger, {
          signal: io.signal,
          library: CLI_LIBRARY,
          ...(search ? { search: await search } : {}),
        });
      })()),
  };
  try {
    return (await command.run(args, context)) ?? 0;
  } catch (error) {
    if (error instanceof UsageError) return fail(`${error.message}\n\nusage: ${command.usage}`, error.exitCode);
    if (isUserError(error)) return fail(error.message, error.exitCode);
    if (io.signal?.aborted) {
      const signal = io.signal.reason instanceof Interrupted ? io.signal.reason.signal : 'SIGINT';
      return fail(`interrupted (${signal})`, 128 + constants.signals[signal]);
    }
    logger.debug({ err: error, command: name }, 'command failed');
    return fail(`unexpected error: ${describeError(error)} (LOG_LEVEL=debug shows the details)`, 1);
  } finally {
    const opened = services ?? search;
    if (opened) await (await opened.catch(() => undefined))?.close();
  }
}

/** Why a run was aborted; the exit status is 128 + the signal's number, as shells report it (130, 143). */
export class Interrupted extends Error {
  override readonly name = 'Interrupted';
  constructor(readonly signal: 'SIGINT' | 'SIGTERM') {
    super(`interrupted by ${signal}`);
  }
}

function invokedDirectly(): boolean {
  const script = process.argv[1];
  if (!script) return false;
  try {
    return realpathSync(script) === realpathSync(fileURLToPath(import.meta.url));
  } catch {
    return false;
  }
}

/** Runs `papercord <argv>` as this process: its streams, environment and signals; sets the exit code. */
export async function runFromCommandLine(argv: string[]): Promise<void> {
  const interrupt = new AbortController();
  // Ctrl-C, or a supervisor stopping us: the command aborts (an ingest commits nothing half-way); a second signal kills.
  for (const signal of ['SIGINT', 'SIGTERM'] as const)
    process.once(signal, () => interrupt.abort(new Interrupted(signal)));
  const stdout: CliOutput = { write: (text) => void process.stdout.write(text) };
  const stderr: CliOutput = { write: (text) => void process.stderr.write(text), stream: process.stderr };
  process.exitCode = await main(argv, { stdout, stderr, env: readEnvironment(), signal: interrupt.signal });
}

// `papercord` (the package's bin), `node dist/src/cli/main.js` or tsx on this file; `npm run cli` goes through
// scripts/cli.mjs, which calls runFromCommandLine.
if (invokedDirectly()) await runFromCommandLine(process.argv.slice(2));
