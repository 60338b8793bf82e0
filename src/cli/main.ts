#!/usr/bin/env node
import { realpathSync } from 'node:fs';
import { constants } from 'node:os';
import { fileURLToPath } from 'node:url';
import { ConfigError, loadConfig, readEnvironment, type Config } from '../config.js';
import { UsageError, describeError, isUserError } from '../errors.js';
import { createLogger, type Logger } from '../logger.js';
import { createServices, type Services } from '../services.js';
import type { CliCommand, CliOutput, CommandContext } from './command.js';
import { COMMANDS } from './commands/index.js';

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

function findCommand(name: string): CliCommand | undefined {
  return COMMANDS.find((command) => command.name === name);
}

/**
 * Runs one command and returns the exit code: 0 done, 1 a problem the user can fix (or a bug), 2 bad arguments.
 * All error reporting happens here.
 */
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
    io.stdout.write(`${topic ? topic.usage : generalUsage()}\n`);
    return 0;
  }
  const command = findCommand(name);
  if (!command) return fail(`unknown command "${name}"\n\n${generalUsage()}`, 2);
  if (args.includes('--help') || args.includes('-h')) {
    io.stdout.write(`${command.usage}\n`);
    return 0;
  }

  let services: Promise<Services> | undefined;
  const context: CommandContext = {
    config,
    logger,
    stdout: io.stdout,
    stderr: io.stderr,
    signal: io.signal ?? new AbortController().signal,
    services: () => (services ??= createServices(config, logger, { signal: io.signal })),
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
    if (services) await (await services.catch(() => undefined))?.close();
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

if (invokedDirectly()) {
  const interrupt = new AbortController();
  // Ctrl-C, or a supervisor stopping us: the command aborts (an ingest commits nothing half-way); a second signal kills.
  for (const signal of ['SIGINT', 'SIGTERM'] as const) process.once(signal, () => interrupt.abort(new Interrupted(signal)));
  const stdout: CliOutput = { write: (text) => void process.stdout.write(text) };
  const stderr: CliOutput = { write: (text) => void process.stderr.write(text), stream: process.stderr };
  const code = await main(process.argv.slice(2), { stdout, stderr, env: readEnvironment(), signal: interrupt.signal });
  process.exitCode = code;
}
