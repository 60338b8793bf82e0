import { describe, expect, it } from 'vitest';
import { TokenBuckets } from '../../src/util/tokenBuckets.js';

describe('token buckets', () => {
  it('given a burst of 3, it should allow three uses in a row, refuse the fourth, and allow one more per refill', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 3, refillSeconds: 10, now: () => now });

    expect([buckets.tryTake('alice'), buckets.tryTake('alice'), buckets.tryTake('alice')]).toEqual([true, true, true]);
    expect(buckets.tryTake('alice')).toBe(false);
    expect(buckets.waitSeconds('alice')).toBe(10);
    now += 6_000;
    expect(buckets.waitSeconds('alice')).toBe(4);
    expect(buckets.tryTake('alice')).toBe(false);
    now += 4_000;
    expect(buckets.tryTake('alice')).toBe(true);
    expect(buckets.tryTake('alice')).toBe(false);
  });

  it('given two keys, it should keep their allowances apart', () => {
    const buckets = new TokenBuckets({ burst: 1, refillSeconds: 60, now: () => 0 });

    expect(buckets.tryTake('alice')).toBe(true);
    expect(buckets.tryTake('alice')).toBe(false);
    expect(buckets.tryTake('bob')).toBe(true);
  });

  it('given a long quiet spell, it should refill to the burst and no further', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 2, refillSeconds: 1, now: () => now });
    buckets.tryTake('alice', 2);
    now += 3_600_000;

    expect(buckets.takeUpTo('alice', 10)).toBe(2);
  });

  it('given a request for more than the bucket holds, takeUpTo should grant what is there and say how long the rest takes', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 20, refillSeconds: 30, now: () => now });

    expect(buckets.takeUpTo('alice', 15)).toBe(15);
    expect(buckets.takeUpTo('alice', 15)).toBe(5);
    expect(buckets.takeUpTo('alice', 1)).toBe(0);
    expect(buckets.waitSeconds('alice', 3)).toBe(90);
    now += 30_000;
    expect(buckets.takeUpTo('alice', 15)).toBe(1);
  });

  it('given a refill time of 0, it should never refuse', () => {
    const buckets = new TokenBuckets({ burst: 1, refillSeconds: 0 });

    for (let use = 0; use < 100; use += 1) expect(buckets.tryTake('alice')).toBe(true);
    expect(buckets.waitMs('alice')).toBe(0);
  });

  it('given thousands of keys whose buckets refilled, it should still answer for each as a full bucket', () => {
    let now = 0;
    const buckets = new TokenBuckets({ burst: 1, refillSeconds: 1, now: () => now });
    for (let user = 0; user < 3_000; user += 1) buckets.tryTake(`user-${user}`);
    now += 2_000;

    expect(buckets.tryTake('user-0')).toBe(true);
    expect(buckets.tryTake('user-2999')).toBe(true);
    expect(buckets.tryTake('user-2999')).toBe(false);
  });
});
