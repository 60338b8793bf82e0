import cliProgress from 'cli-progress';
import type { CliOutput } from './command.js';

/**
 * Progress of long CLI work: a bar with rate and ETA when stderr is a terminal (cli-progress), otherwise a line
 * every few seconds (logs of a container, a CI job), so neither is flooded nor left wondering.
 */

export interface ProgressReporter {
  update(done: number): void;
  stop(): void;
}

export interface ProgressOptions {
  /** What is counted, plural: "papers". */
  unit: string;
  total: number;
  output: CliOutput;
  /** Seconds between lines when output is not a terminal. */
  intervalSeconds?: number;
  /** Clock, for tests. */
  now?: () => number;
}

export function startProgress(options: ProgressOptions): ProgressReporter {
  const { unit, total, output } = options;
  const now = options.now ?? (() => performance.now());
  const startedAt = now();
  const rate = (done: number) => done / Math.max(0.001, (now() - startedAt) / 1000);
  if (isTerminal(output)) {
    const bar = new cliProgress.SingleBar(
      {
        stream: output,
        format: `{bar} {percentage}% | {value}/{total} ${unit} | {rate}/s | ETA {eta_formatted}`,
        etaBuffer: 20,
        hideCursor: true,
      },
      cliProgress.Presets.shades_classic,
    );
    bar.start(total, 0, { rate: '0' });
    return {
      update: (done) => bar.update(done, { rate: rate(done).toFixed(0) }),
      stop: () => bar.stop(),
    };
  }
  const interval = (options.intervalSeconds ?? 5) * 1000;
  let lastLine = startedAt;
  return {
    update(done) {
      if (now() - lastLine < interval && done < total) return;
      lastLine = now();
      const perSecond = rate(done);
      const eta = perSecond > 0 ? (total - done) / perSecond : Infinity;
      const percent = total > 0 ? Math.floor((done / total) * 100) : 100;
      output.write(`${done}/${total} ${unit} (${percent}%), ${perSecond.toFixed(0)}/s, ETA ${formatDuration(eta)}\n`);
    },
    stop() {},
  };
}

function isTerminal(output: CliOutput): output is CliOutput & NodeJS.WriteStream {
  return (output as { isTTY?: boolean }).isTTY === true;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds)) return '?';
  const whole = Math.round(seconds);
  if (whole < 60) return `${whole}s`;
  const minutes = Math.floor(whole / 60);
  if (minutes < 60) return `${minutes}m ${String(whole % 60).padStart(2, '0')}s`;
  return `${Math.floor(minutes / 60)}h ${String(minutes % 60).padStart(2, '0')}m`;
}
