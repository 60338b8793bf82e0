import { describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { admitIntake, IntakeLimits, IntakeQueue, withLeftOut } from '../../src/discord/intakeLimits.js';
import { AnswerLimiter } from '../../src/discord/limits.js';

describe('the answer limiter', () => {
  it('given every slot busy, it should refuse with an estimate, and accept again once a slot is released', () => {
    let now = 0;
    const limiter = new AnswerLimiter({
      cooldownSeconds: 0,
      maxConcurrent: 1,
      now: () => now,
      initialAnswerSeconds: 7,
    });

    const slot = limiter.acquire('alice');
    expect(() => limiter.acquire('bob')).toThrow('I am busy answering others: try again in 7 s.');
    now += 2000;
    slot.release();
    expect(() => limiter.acquire('bob').release()).not.toThrow();
  });

  it('given a second question six seconds after the first, it should take it (a person reading answers asks again)', () => {
    let now = 0;
    const limiter = new AnswerLimiter({ cooldownSeconds: 10, maxConcurrent: 4, now: () => now });

    limiter.acquire('alice').release();
    now += 6_000;
    expect(() => limiter.acquire('alice').release()).not.toThrow();
  });

  it('given a member who used the whole burst, it should say how many seconds until the next question; then accept', () => {
    let now = 0;
    const limiter = new AnswerLimiter({ cooldownSeconds: 10, burst: 3, maxConcurrent: 4, now: () => now });

    for (let question = 0; question < 3; question += 1) limiter.acquire('alice').release();
    now += 3_500;
    expect(() => limiter.acquire('alice')).toThrow('You are asking too often: try again in 7 s.');
    expect(() => limiter.acquire('bob')).not.toThrow();
    now += 7_000;
    expect(() => limiter.acquire('alice')).not.toThrow();
  });
});

const LIMITS = loadConfig({
  ADD_MAX_PAPERS: '20',
  ADD_BURST: '20',
  ADD_COOLDOWN_SECONDS: '30',
  INTAKE_CONCURRENCY: '1',
  INTAKE_QUEUE_MAX: '2',
});
const ids = (count: number, from = 0) =>
  Array.from({ length: count }, (_, index) => `2501.${String(from + index).padStart(5, '0')}`);

describe('intake limits', () => {
  it('given 100 ids, it should admit the first 20 and list the other 80 as left out, naming ADD_MAX_PAPERS', () => {
    const limits = new IntakeLimits(LIMITS, () => 0);

    const { admitted, leftOut } = limits.admitMember('alice', ids(100), '/add');

    expect(admitted).toEqual(ids(20));
    expect(leftOut).toHaveLength(1);
    expect(leftOut[0]!.inputs).toEqual(ids(80, 20));
    expect(leftOut[0]!.reason).toContain('at most 20 papers at once (ADD_MAX_PAPERS)');
  });

  it('given a member whose allowance is spent, it should refuse with the seconds to wait; a partly spent one gets what is left', () => {
    let now = 0;
    const limits = new IntakeLimits(LIMITS, () => now);
    limits.admitMember('alice', ids(15), '/add');

    const second = limits.admitMember('alice', ids(10, 100), '/add');
    expect(second.admitted).toEqual(ids(5, 100));
    expect(second.leftOut[0]!.reason).toBe('you may add 5 more papers for now; try the rest again in 150 s');
    expect(() => limits.admitMember('alice', ids(1, 200), '/add')).toThrow(
      'You are adding papers too often: try again in 30 s.',
    );
    expect(limits.admitMember('bob', ids(1, 200), '/add').admitted).toHaveLength(1);
    now += 30_000;
    expect(limits.admitMember('alice', ids(1, 200), '/add').admitted).toHaveLength(1);
  });

  it('given a request from a direct message, it should refuse it and take no place in the queue', () => {
    const limits = new IntakeLimits(LIMITS, () => 0);

    expect(() => admitIntake(limits, { userId: 'alice', inServer: false, command: '/add' }, ids(1))).toThrow(
      'Papers are added from a server, not in direct messages.',
    );
    expect(limits.queue.size).toEqual({ running: 0, waiting: 0 });
  });

  it('given 10,000 ids, the reply should stay within one Discord message and say how many were left out', () => {
    const limits = new IntakeLimits(LIMITS, () => 0);
    const { leftOut } = limits.admitMember('alice', ids(10_000), '/add');

    const reply = withLeftOut({ content: '20 added.\n❓ `x`: not found', embeds: [] }, leftOut);

    expect(reply.content.length).toBeLessThanOrEqual(2000);
    expect(reply.content.split('\n')[1]).toMatch(/^⏭️ 9980 not added \(`2501\.00020`, .* and 9975 more\): \/add takes/);
  });

  it('given a channel flooded with links, it should grant its burst of papers and then nothing until it refills', () => {
    let now = 0;
    const limits = new IntakeLimits(
      loadConfig({ LINK_PICKUP_BURST: '5', LINK_PICKUP_COOLDOWN_SECONDS: '60' }),
      () => now,
    );

    const granted = Array.from({ length: 50 }, () => limits.admitChannel('papers', 1));

    expect(granted.filter((count) => count === 1)).toHaveLength(5);
    expect(limits.admitChannel('other', 1)).toBe(1);
    expect(limits.channelWaitSeconds('papers')).toBe(60);
    now += 60_000;
    expect(limits.admitChannel('papers', 3)).toBe(1);
  });
});

describe('the intake queue', () => {
  it('given one running and two waiting, it should refuse a fourth as busy, then run the waiting ones in order', async () => {
    const queue = new IntakeQueue({ concurrency: 1, maxWaiting: 2, now: () => 0, initialRunSeconds: 8 });
    const order: string[] = [];

    const first = queue.enter();
    const second = queue.enter();
    const third = queue.enter();
    void second.started.then(() => order.push('second'));
    void third.started.then(() => order.push('third'));
    expect(() => queue.enter()).toThrow('I am busy adding other papers: try again in 24 s.');
    expect([first.ahead, second.ahead, third.ahead]).toEqual([0, 1, 2]);

    first.release();
    await second.started;
    second.release();
    await third.started;
    third.release();
    expect(order).toEqual(['second', 'third']);
    expect(queue.size).toEqual({ running: 0, waiting: 0 });
  });

  it('given a waiting request that gives up, it should free its place without running it', async () => {
    const queue = new IntakeQueue({ concurrency: 1, maxWaiting: 1 });
    const first = queue.enter();
    const second = queue.enter();

    second.release();
    const third = queue.enter();
    first.release();
    await third.started;

    expect(queue.size).toEqual({ running: 1, waiting: 0 });
  });
});
