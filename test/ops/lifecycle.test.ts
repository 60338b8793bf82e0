import { describe, expect, it } from 'vitest';
import { UserError } from '../../src/errors.js';
import { instrumentCommands } from '../../src/ops/instrument.js';
import { InFlightWork, RESTARTING_MESSAGE } from '../../src/ops/lifecycle.js';
import { createMetrics } from '../../src/ops/metrics.js';

/** A command whose run the test finishes by hand, standing in for an answer waiting on an LLM. */
function controllableCommand(name: string) {
  const finishers: Array<() => void> = [];
  const answered: string[] = [];
  return {
    answered,
    finishAll: () => finishers.splice(0).forEach((finish) => finish()),
    command: {
      data: { name },
      execute: (question: string) =>
        new Promise<void>((resolve) => {
          finishers.push(() => {
            answered.push(question);
            resolve();
          });
        }),
    },
  };
}

describe('graceful shutdown of commands', () => {
  it('given answers running when shutdown starts, it should wait for them and refuse new ones with a retry message', async () => {
    const inFlight = new InFlightWork();
    const metrics = createMetrics({ defaultMetrics: false });
    const ask = controllableCommand('ask');
    const commands = instrumentCommands(new Map([['ask', ask.command]]), metrics, { inFlight });
    const execute = commands.get('ask')!.execute as (question: string) => Promise<void>;

    const first = execute('first');
    const second = execute('second');
    const draining = inFlight.drain(60_000);
    const late = execute('late');
    ask.finishAll();

    await expect(Promise.all([first, second])).resolves.toEqual([undefined, undefined]);
    await expect(late).rejects.toThrow(new UserError(RESTARTING_MESSAGE));
    expect(await draining).toBe(0);
    expect(ask.answered).toEqual(['first', 'second']);
    const text = await metrics.registry.metrics();
    expect(text).toContain('papercord_interactions_total{command="ask",outcome="ok"} 2');
    expect(text).toContain('papercord_interactions_total{command="ask",outcome="user_error"} 1');
  });

  it('given an answer that never finishes, it should stop waiting at the bound and report it as unfinished', async () => {
    const inFlight = new InFlightWork();
    void inFlight.run(() => new Promise<void>(() => {}));

    expect(await inFlight.drain(20)).toBe(1);
    expect(inFlight.isDraining).toBe(true);
  });

  it('given a command that fails, it should pass the error on and not count it as still running', async () => {
    const inFlight = new InFlightWork();
    const failing = inFlight.run(() => Promise.reject(new Error('bug')));

    await expect(failing).rejects.toThrow('bug');
    expect(await inFlight.drain(1_000)).toBe(0);
  });
});
