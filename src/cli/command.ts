import { parseArgs, type ParseArgsConfig } from 'node:util';
import type { Config } from '../config.js';
import { UsageError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { SearchServices } from '../searchServices.js';
import type { Services } from '../services.js';

/** Where a command writes; the real process streams, or buffers in tests. */
export interface CliOutput {
  write(text: string): void;
  /** The real terminal stream behind it, when there is one: progress bars draw on it when it is a TTY. */
  readonly stream?: NodeJS.WriteStream;
}

export interface CommandContext {
  readonly config: Config;
  readonly logger: Logger;
  /** Results only: `--json` output goes here and nothing else does. */
  readonly stdout: CliOutput;
  /** Notes for the person at the terminal (empty library, hints). */
  readonly stderr: CliOutput;
  /** Aborted on Ctrl-C; pass it to long work. */
  readonly signal: AbortSignal;
  /** Builds the services on first call (commands such as `help` never need them); the CLI closes them. */
  services(): Promise<Services>;
  /**
   * Only the embedder, the library and the retriever (the same ones `services()` then holds): a command that only
   * searches starts sooner without loading the answerer, full text, trending and intake.
   */
  searchServices(): Promise<SearchServices>;
}

/**
 * One `papercord <name>` command, in `src/cli/commands/<name>.ts`, listed with its name and summary in
 * `src/cli/commands/index.ts`.
 */
export interface CliCommand {
  /** Synopsis and options, printed by `papercord help <name>` and after a usage error. */
  readonly usage: string;
  /** Resolves to the exit code (0 when omitted). */
  run(args: string[], context: CommandContext): Promise<number | void>;
}

/** `node:util` parseArgs in strict mode, its errors turned into usage errors (exit 2). */
export function parseCommandArgs<T extends ParseArgsConfig['options']>(
  args: string[],
  options: T,
  allowPositionals = false,
) {
  try {
    return parseArgs({ args: joinNegativeValues(args, options), options, allowPositionals, strict: true });
  } catch (error) {
    throw new UsageError(error instanceof Error ? usageMessage(error.message) : String(error));
  }
}

/**
 * `-k -1` is a value out of range, not a missing one: parseArgs would call it ambiguous, so it is passed on as
 * `--k=-1` and the option's own check names the range.
 */
function joinNegativeValues(args: string[], options: ParseArgsConfig['options']): string[] {
  const takesValue = (arg: string) =>
    Object.entries(options ?? {}).find(
      ([name, option]) =>
        option.type === 'string' && (arg === `--${name}` || (option.short !== undefined && arg === `-${option.short}`)),
    )?.[0];
  const joined: string[] = [];
  for (let index = 0; index < args.length; index += 1) {
    const name = takesValue(args[index]);
    const next = args[index + 1];
    if (name !== undefined && next !== undefined && /^-\d/.test(next)) {
      joined.push(`--${name}=${next}`);
      index += 1;
    } else {
      joined.push(args[index]);
    }
  }
  return joined;
}

/** parseArgs messages, shortened to one line a user reads: "-k needs a value" for "Option '-k, --k <value>' argument missing". */
function usageMessage(message: string): string {
  const missing = /^Option '(-[^,' ]+)[^']*' argument missing/.exec(message);
  if (missing) return `${missing[1]} needs a value`;
  return message.replace(/\.\s*To specify.*$/s, '').replace(/\s*\n\s*/g, ' ');
}

/** A whole number within bounds, for options such as `-k`. */
export function parseCount(value: string | undefined, option: string, fallback: number, max: number): number {
  if (value === undefined) return fallback;
  const count = Number(value);
  if (!Number.isInteger(count) || count < 1 || count > max) {
    throw new UsageError(`${option} expects a whole number from 1 to ${max} (got "${value}")`);
  }
  return count;
}

/** The arguments of `ask` and `search`: `"<text>" [-k N] [--json]`, the words joined into one text. */
export function parseTextQuery(
  args: string[],
  options: { missingText: string; defaultK: number; maxK: number },
): { text: string; k: number; json: boolean } {
  const { values, positionals } = parseCommandArgs(
    args,
    { k: { type: 'string', short: 'k' }, json: { type: 'boolean', default: false } },
    true,
  );
  const text = positionals.join(' ').trim();
  if (!text) throw new UsageError(options.missingText);
  return { text, k: parseCount(values.k, '-k', options.defaultK, options.maxK), json: values.json };
}

export const EMPTY_LIBRARY_HINT =
  'the library is empty; add papers with `papercord ingest` (from a checkout: `npm run cli -- ingest`)';
