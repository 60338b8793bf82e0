/**
 * Acknowledgements before answers. Discord drops an interaction not acknowledged within 3 s, so when a burst
 * arrives, the bot's thread should send every pending acknowledgement before it spends time on anyone's answer
 * (handing the question to a worker, rendering and sending the result). Commands that can wait call
 * `yieldToAcknowledgements()` after their own acknowledgement; it resolves once no interaction the bot has received
 * is still waiting for its acknowledgement.
 */

/** The part of a discord.js interaction the gate looks at. */
export interface AcknowledgeableInteraction {
  readonly deferred?: boolean;
  readonly replied?: boolean;
  /** Autocomplete: true once suggestions were sent. */
  readonly responded?: boolean;
  /** When Discord created it (ms since the epoch). */
  readonly createdTimestamp: number;
}

export interface AcknowledgementGateOptions {
  /** The longest an answer waits for others' acknowledgements, so a steady stream of interactions never starves it. */
  maxWaitMs?: number;
  /** How often waiting work looks again when no acknowledgement nudged it (an acknowledgement the gate did not see). */
  recheckMs?: number;
  /** Past this age an interaction can no longer be acknowledged (Discord's deadline), so nothing waits for it. */
  deadlineMs?: number;
  now?: () => number;
}

export const DEFAULT_ACKNOWLEDGEMENT_GATE_OPTIONS = Object.freeze({
  maxWaitMs: 2_000,
  recheckMs: 20,
  deadlineMs: 3_000,
  now: Date.now,
});

interface Waiter {
  resolve: () => void;
  /** When it goes anyway. */
  until: number;
}

export class AcknowledgementGate {
  readonly #options: Required<AcknowledgementGateOptions>;
  readonly #waiting = new Set<AcknowledgeableInteraction>();
  readonly #waiters: Waiter[] = [];
  #timer: NodeJS.Timeout | undefined;

  constructor(options: AcknowledgementGateOptions = {}) {
    this.#options = { ...DEFAULT_ACKNOWLEDGEMENT_GATE_OPTIONS, ...options };
  }

  /** An interaction arrived that the bot will acknowledge. */
  received(interaction: AcknowledgeableInteraction): void {
    this.#waiting.add(interaction);
  }

  /** Interactions received and not yet acknowledged (nor past Discord's deadline). */
  get pending(): number {
    this.#forgetAcknowledged();
    return this.#waiting.size;
  }

  /** Resolves once every received interaction is acknowledged, or after `maxWaitMs`. */
  yieldToAcknowledgements(): Promise<void> {
    // Called by work that just acknowledged its own interaction: others waiting may now go.
    this.#release();
    if (this.pending === 0) return Promise.resolve();
    return new Promise((resolve) => {
      this.#waiters.push({ resolve, until: this.#options.now() + this.#options.maxWaitMs });
      this.#schedule();
    });
  }

  #forgetAcknowledged(): void {
    const oldest = this.#options.now() - this.#options.deadlineMs;
    for (const interaction of this.#waiting) {
      if (interaction.deferred || interaction.replied || interaction.responded || interaction.createdTimestamp < oldest)
        this.#waiting.delete(interaction);
    }
  }

  #release(): void {
    if (this.#waiters.length === 0) return;
    if (this.pending === 0) {
      for (const waiter of this.#waiters.splice(0)) waiter.resolve();
      return;
    }
    // Waiters are in the order they came, so in the order their maximum wait ends.
    const now = this.#options.now();
    while (this.#waiters.length > 0 && now >= this.#waiters[0]!.until) this.#waiters.shift()!.resolve();
  }

  #schedule(): void {
    if (this.#timer || this.#waiters.length === 0) return;
    this.#timer = setTimeout(() => {
      this.#timer = undefined;
      this.#release();
      this.#schedule();
    }, this.#options.recheckMs);
    this.#timer.unref();
  }
}
