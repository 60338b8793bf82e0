import { LOW_CONFIDENCE_LEAD } from '../src/retrieval/types.js';
import type { DiscordEmulator, InteractionRecord } from '../src/emulator/discordEmulator.js';

/**
 * The burst of the Discord benchmark, run where the emulator runs (its own process by default): N `/ask` from N
 * different users dispatched at once, then every interaction followed until it settles, and what each user got.
 * Acknowledgement times are the emulator's: dispatch to the callback it accepted, as Discord measures its 3 s.
 */

export interface BurstRequest {
  interactions: number;
  questions: readonly string[];
  /** How long one interaction may take to settle (answered, refused, failed) before it counts as timed out. */
  settleTimeoutMs: number;
}

/** What the users got. Answered = the bot delivered its final answer, whatever its confidence. */
export interface BurstOutcome {
  acknowledged: number;
  answered: number;
  ack_p50_ms: number;
  ack_p99_ms: number;
  /** Dispatch to the final answer, over the answered interactions. */
  answer_p50_ms: number;
  answer_p99_ms: number;
  total_s: number;
  /** Final answers by kind: citing its sources, "nothing clearly matches; the closest papers are…", or an abstention. */
  answers: { cited: number; low_confidence: number; abstained: number };
  /** Interactions that got no final answer: refused at once as busy, an error message, or nothing in time. */
  unanswered: { busy: number; failed: number; timed_out: number };
}

type Settled = 'cited' | 'low_confidence' | 'abstained' | 'busy' | 'failed';

const ACK_DEADLINE_MS = 3_000;

/** What an interaction's record says the user got, or undefined while it is still running. */
export function settledAs(record: InteractionRecord): Settled | undefined {
  const embed = record.original?.embeds[0] as { footer?: { text?: string }; description?: string } | undefined;
  // Every final answer carries the model in its footer; partial answers say "Writing…".
  if (embed?.footer?.text?.startsWith('Model:')) {
    const text = embed.description ?? '';
    if (text.startsWith(LOW_CONFIDENCE_LEAD)) return 'low_confidence';
    if (text.startsWith('I found nothing in the library')) return 'abstained';
    return 'cited';
  }
  // An immediate reply to /ask is the "busy, try again" refusal (or another refusal before any work).
  if (record.callbackType === 4) return 'busy';
  if (record.followUps.length > 0 || record.originalDeleted) return 'failed';
  return undefined;
}

export function percentile(sorted: readonly number[], fraction: number): number {
  if (sorted.length === 0) return 0;
  return sorted[Math.min(sorted.length - 1, Math.ceil(fraction * sorted.length) - 1)]!;
}

export async function runBurst(emulator: DiscordEmulator, request: BurstRequest): Promise<BurstOutcome> {
  const { interactions, questions } = request;
  const started = performance.now();
  const records = Array.from({ length: interactions }, (_, index) =>
    emulator.dispatchCommand('ask', {
      options: { question: questions[index % questions.length]!.slice(0, 500) },
      user: { id: String(100_000_000_000_000_000n + BigInt(index)), username: `reader${index}` },
    }),
  );
  await Promise.all(
    records.map((record) =>
      emulator
        .waitForInteraction(record.id, (changed) => settledAs(changed) !== undefined, request.settleTimeoutMs)
        .catch(() => record),
    ),
  );
  const totalSeconds = (performance.now() - started) / 1000;
  const ackTimes = records
    .filter((record) => record.acknowledgedAt !== undefined)
    .map((record) => record.acknowledgedAt! - record.dispatchedAt)
    .sort((a, b) => a - b);
  const outcomes = records.map(settledAs);
  const count = (kind: Settled) => outcomes.filter((outcome) => outcome === kind).length;
  const answered = records.filter((_, index) =>
    ['cited', 'low_confidence', 'abstained'].includes(outcomes[index] ?? ''),
  );
  const answerTimes = answered
    .map((record) => Date.parse(String(record.original!.edited_timestamp)) - record.dispatchedAt)
    .sort((a, b) => a - b);
  return {
    acknowledged: ackTimes.filter((ms) => ms <= ACK_DEADLINE_MS).length,
    answered: answered.length,
    ack_p50_ms: percentile(ackTimes, 0.5),
    ack_p99_ms: percentile(ackTimes, 0.99),
    answer_p50_ms: percentile(answerTimes, 0.5),
    answer_p99_ms: percentile(answerTimes, 0.99),
    total_s: Math.round(totalSeconds * 100) / 100,
    answers: { cited: count('cited'), low_confidence: count('low_confidence'), abstained: count('abstained') },
    unanswered: {
      busy: count('busy'),
      failed: count('failed'),
      timed_out: outcomes.filter((outcome) => outcome === undefined).length,
    },
  };
}
