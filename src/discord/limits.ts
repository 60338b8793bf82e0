import { definedOnly } from '../util/options.js';
import { EXTRACTIVE_MODEL } from '../answering/answers.js';
import { UserError } from '../errors.js';
import { TokenBuckets } from '../util/tokenBuckets.js';

/** Questions and paper names longer than these are refused with a message saying so. */
export const INPUT_LIMITS = {
  question: 500,
  paperName: 200,
  searchQuery: 300,
} as const;

export interface AnswerLimiterOptions {
  /** Seconds for one question of a member's allowance to come back (`ASK_COOLDOWN_SECONDS`); 0: no limit. */
  cooldownSeconds: number;
  /** Questions a member may ask in a row after a quiet spell (`ASK_BURST`). */
  burst?: number;
  /** Expensive commands running at once, across all users. */
  maxConcurrent: number;
  /** The clock, replaceable in tests. */
  now?: () => number;
  /** Assumed length of one answer until some have been measured, for the "try again in N s" estimate. */
  initialAnswerSeconds?: number;
}

export const DEFAULT_LIMITER_OPTIONS = { now: () => Date.now(), initialAnswerSeconds: 5, burst: 3 } as const;

/** A slot taken by one running command; release it when the command ends, however it ends. */
export interface LimiterSlot {
  release(): void;
}

/**
 * A per-member token bucket and a global concurrency limit for commands that run the LLM: a member may ask `burst`
 * questions in a row, then one every `cooldownSeconds` (someone reading an answer asks again after a few seconds;
 * one question per window refused that). A refused member is told how long to wait: until their next question
 * comes back, or, when every slot is busy, the typical answer time measured so far.
 */
export class AnswerLimiter {
  private readonly options: Required<AnswerLimiterOptions>;
  private readonly questions: TokenBuckets;
  private running = 0;
  /** Moving average of how long a slot is held, in ms. */
  private typicalHoldMs: number;

  constructor(options: AnswerLimiterOptions) {
    this.options = { ...DEFAULT_LIMITER_OPTIONS, ...definedOnly(options) };
    this.questions = new TokenBuckets({
      burst: this.options.burst,
      refillSeconds: this.options.cooldownSeconds,
      now: this.options.now,
    });
    this.typicalHoldMs = this.options.initialAnswerSeconds * 1000;
  }

  get active(): number {
    return this.running;
  }

  /** Takes a slot for `userId` or throws a UserError saying when to try again. */
  acquire(userId: string): LimiterSlot {
    if (this.running >= this.options.maxConcurrent) {
      const waitSeconds = Math.max(1, Math.ceil(this.typicalHoldMs / 1000));
      throw new UserError(`I am busy answering others: try again in ${waitSeconds} s.`);
    }
    if (!this.questions.tryTake(userId)) {
      throw new UserError(`You are asking too often: try again in ${this.questions.waitSeconds(userId)} s.`);
    }
    const startedAt = this.options.now();
    this.running += 1;
    let released = false;
    return {
      release: () => {
        if (released) return;
        released = true;
        this.running -= 1;
        const heldMs = this.options.now() - startedAt;
        this.typicalHoldMs = 0.8 * this.typicalHoldMs + 0.2 * heldMs;
      },
    };
  }
}

const NOTHING_TO_RELEASE: LimiterSlot = { release: () => undefined };

/**
 * A limiter slot for a command that calls the language model only when one is configured (/paper and /trending now
 * write a TL;DR per paper): with a model each run can cost money, so it is limited like /ask; without one it is
 * cheap and unlimited.
 */
export function acquireIfModelRuns(
  // Structural, not BotServices: the services port (types.ts) names AnswerLimiter, and this module must not name it back.
  services: { answers: { readonly modelLabel: string }; limiter: Pick<AnswerLimiter, 'acquire'> },
  userId: string,
): LimiterSlot {
  return services.answers.modelLabel === EXTRACTIVE_MODEL ? NOTHING_TO_RELEASE : services.limiter.acquire(userId);
}

/** Refuses text longer than `limit` with a message giving both numbers. */
export function checkLength(what: string, text: string, limit: number): string {
  const trimmed = text.trim();
  if (!trimmed) throw new UserError(`The ${what} is empty.`);
  if (trimmed.length > limit) {
    throw new UserError(`The ${what} is ${trimmed.length} characters long; the limit is ${limit}. Please shorten it.`);
  }
  return trimmed;
}

/** Refuses a number outside `[min, max]` (Discord enforces option ranges, but a bot must not trust the client). */
export function checkRange(what: string, value: number, min: number, max: number): number {
  if (!Number.isInteger(value) || value < min || value > max) {
    throw new UserError(`${what} must be a whole number from ${min} to ${max} (got ${value}).`);
  }
  return value;
}
