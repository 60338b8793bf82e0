import { describe, expect, it } from 'vitest';
import { createProgress } from '../../src/cli/progress.js';

describe('createProgress without a terminal', () => {
  it('given steady work, it should print a line per interval with count, percent, rate and time left, and none repeated at the end', () => {
    const lines: string[] = [];
    let now = 0;
    const progress = createProgress(
      { write: (text) => void lines.push(text) },
      { label: 'adding papers', total: 1000, lineIntervalMs: 5_000, now: () => now },
    );

    for (let done = 100; done <= 1000; done += 100) {
      now += 1_000; // 100 papers a second
      progress.update(done);
    }
    progress.stop();

    expect(lines).toEqual([
      'adding papers: 500/1000 (50 %), 100.0/s, about 5 s left\n',
      'adding papers: 1000/1000 (100 %), 100.0/s\n',
    ]);
  });
});
