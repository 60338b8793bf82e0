import { isUserError } from '../errors.js';
import type { PapercordMetrics } from './metrics.js';

/** Anything shaped like a slash command module; kept structural so ops code never imports discord.js. */
export interface ExecutableCommand {
  readonly data: { readonly name: string };
  execute(...args: never[]): Promise<void>;
}

export interface InstrumentOptions {
  /** Commands whose run time is an answer's latency (`papercord_answer_latency_seconds`). */
  answerCommands?: readonly string[];
}

export const DEFAULT_INSTRUMENT_OPTIONS = Object.freeze({ answerCommands: Object.freeze(['ask', 'compare']) });

/**
 * The same commands, each counted in `papercord_interactions_total` by how it ended (`ok`, `user_error`, `error`)
 * and, for answering commands, timed. Errors pass through unchanged to the bot's one error handler.
 */
export function instrumentCommands<C extends ExecutableCommand>(
  commands: ReadonlyMap<string, C>,
  metrics: Pick<PapercordMetrics, 'recordInteraction' | 'startAnswerTimer'>,
  options: InstrumentOptions = {},
): Map<string, C> {
  const answerCommands = new Set(options.answerCommands ?? DEFAULT_INSTRUMENT_OPTIONS.answerCommands);
  const instrumented = new Map<string, C>();
  for (const [name, command] of commands) {
    const execute = async (...args: Parameters<C['execute']>): Promise<void> => {
      const endAnswer = answerCommands.has(name) ? metrics.startAnswerTimer() : undefined;
      try {
        await command.execute(...args);
        metrics.recordInteraction(name, 'ok');
      } catch (error) {
        metrics.recordInteraction(name, isUserError(error) ? 'user_error' : 'error');
        throw error;
      } finally {
        endAnswer?.();
      }
    };
    // A copy, not the module itself: command modules are frozen ES module namespaces.
    instrumented.set(name, { ...command, execute } as C);
  }
  return instrumented;
}
