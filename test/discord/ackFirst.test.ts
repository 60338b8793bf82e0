import { afterEach, beforeEach, describe, expect, it, vi } from 'vitest';
import { AcknowledgementGate, type AcknowledgeableInteraction } from '../../src/discord/ackFirst.js';

/** An interaction as discord.js marks it: `deferred` once its acknowledgement went through. */
function interaction(
  createdTimestamp: number,
): { deferred: boolean; replied: boolean; createdTimestamp: number } & AcknowledgeableInteraction {
  return { deferred: false, replied: false, createdTimestamp };
}

describe('AcknowledgementGate', () => {
  // The gate's clock and its re-check timer are both the test's: nothing here waits on real time.
  let clock = 1_000_000;
  const now = () => clock;

  beforeEach(() => {
    vi.useFakeTimers();
  });

  afterEach(() => {
    vi.useRealTimers();
  });

  /** Whether the promise has settled, after the timers due in `ms` of the test's clock ran. */
  async function settledAfter(promise: Promise<void>, ms: number): Promise<boolean> {
    let settled = false;
    void promise.then(() => (settled = true));
    clock += ms;
    await vi.advanceTimersByTimeAsync(ms);
    return settled;
  }

  it('given no interaction waiting for its acknowledgement, it should let an answer go at once', async () => {
    const gate = new AcknowledgementGate({ now });
    const acknowledged = interaction(clock);
    gate.received(acknowledged);
    acknowledged.deferred = true;

    expect(await settledAfter(gate.yieldToAcknowledgements(), 0)).toBe(true);
  });

  it('given another interaction not yet acknowledged, it should hold the answer until that one is deferred', async () => {
    const gate = new AcknowledgementGate({ now, maxWaitMs: 10_000 });
    const other = interaction(clock);
    gate.received(other);
    const answer = gate.yieldToAcknowledgements();

    expect(await settledAfter(answer, 500)).toBe(false);
    other.deferred = true;
    expect(await settledAfter(answer, 50)).toBe(true);
  });

  it('given an interaction answered with a reply or autocomplete suggestions, it should count it as acknowledged', async () => {
    const gate = new AcknowledgementGate({ now });
    const replied = interaction(clock);
    const suggestions: AcknowledgeableInteraction & { responded: boolean } = {
      responded: false,
      createdTimestamp: clock,
    };
    gate.received(replied);
    gate.received(suggestions);
    expect(gate.pending).toBe(2);

    replied.replied = true;
    suggestions.responded = true;
    expect(gate.pending).toBe(0);
  });

  it('given interactions that keep arriving unacknowledged, it should let the answer go after maxWaitMs rather than starve it', async () => {
    const gate = new AcknowledgementGate({ now, maxWaitMs: 2_000 });
    gate.received(interaction(clock));
    const answer = gate.yieldToAcknowledgements();

    expect(await settledAfter(answer, 1_000)).toBe(false);
    gate.received(interaction(clock));
    expect(await settledAfter(answer, 1_100)).toBe(true);
  });

  it('given an interaction past the 3 s deadline of Discord, it should stop waiting for it: it can no longer be acknowledged', async () => {
    const gate = new AcknowledgementGate({ now, maxWaitMs: 60_000 });
    gate.received(interaction(clock - 2_900));
    const answer = gate.yieldToAcknowledgements();

    expect(await settledAfter(answer, 50)).toBe(false);
    expect(await settledAfter(answer, 100)).toBe(true);
    expect(gate.pending).toBe(0);
  });
});
