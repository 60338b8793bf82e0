import { UserError } from '../errors.js';

/** What a user who runs a command during shutdown is told (ephemerally, by the bot's error handler). */
export const RESTARTING_MESSAGE = 'papercord is restarting; please try again in a minute.';

/** Long enough for an answer waiting on a slow LLM, short enough for compose's 30 s stop_grace_period. */
export const DEFAULT_DRAIN_TIMEOUT_MS = 20_000;

/**
 * Work a front end has accepted and not finished (commands being answered). On SIGTERM the bot drains it: no new
 * work is taken, and what is running is given time to finish, so every accepted interaction is answered once.
 */
export class InFlightWork {
  private readonly running = new Set<Promise<unknown>>();
  private draining = false;

  /** How many pieces of work are running now. */
  get size(): number {
    return this.running.size;
  }

  get isDraining(): boolean {
    return this.draining;
  }

  /** Runs `work`, or refuses with a UserError once draining has begun. */
  run<T>(work: () => Promise<T>): Promise<T> {
    if (this.draining) return Promise.reject(new UserError(RESTARTING_MESSAGE));
    const running = work();
    const settled = running.then(
      () => undefined,
      () => undefined,
    );
    this.running.add(settled);
    void settled.then(() => this.running.delete(settled));
    return running;
  }

  /** Refuses new work and waits for running work, at most `timeoutMs`; resolves to how many were still running. */
  async drain(timeoutMs: number = DEFAULT_DRAIN_TIMEOUT_MS): Promise<number> {
    this.draining = true;
    let timer: NodeJS.Timeout | undefined;
    const timedOut = new Promise<void>((resolve) => {
      timer = setTimeout(resolve, timeoutMs);
    });
    await Promise.race([Promise.all(this.running), timedOut]);
    clearTimeout(timer);
    return this.running.size;
  }
}
