import cliProgress from 'cli-progress';
import type { CliOutput } from './command.js';

/** A long intake's progress as the terminal shows it. */
export interface ProgressDisplay {
  /** Sets the total once it is known (a backfill learns it from the first page). */
  setTotal(total: number): void;
  update(done: number, detail?: string): void;
  stop(): void;
}

export interface ProgressOptions {
  label: string;
  total: number;
  /** Without a terminal, a line at most this often. */
  lineIntervalMs?: number;
  now?: () => number;
}

export const DEFAULT_PROGRESS_OPTIONS = { lineIntervalMs: 5_000 } as const;

/**
 * A bar with rate and ETA (cli-progress) when stderr is a terminal; otherwise a plain line every few seconds and
 * at the end, so logs of a cron job or CI show that work is moving without a screenful of carriage returns.
 */
export function createProgress(stderr: CliOutput, options: ProgressOptions): ProgressDisplay {
  const settings = { ...DEFAULT_PROGRESS_OPTIONS, ...options };
  if (stderr.stream?.isTTY) return new TerminalProgress(stderr.stream, settings);
  return new LineProgress(stderr, settings);
}

class TerminalProgress implements ProgressDisplay {
  private readonly bar: cliProgress.SingleBar;

  constructor(stream: NodeJS.WriteStream, options: ProgressOptions) {
    this.bar = new cliProgress.SingleBar(
      {
        stream,
        format: `${options.label} [{bar}] {percentage}% | {value}/{total} | {rate}/s | ETA {eta_formatted} {detail}`,
        hideCursor: true,
        etaBuffer: 50,
      },
      cliProgress.Presets.shades_classic,
    );
    this.bar.start(Math.max(options.total, 1), 0, { rate: '0.0', detail: '' });
    this.startedAt = Date.now();
  }

  private readonly startedAt: number;

  setTotal(total: number): void {
    this.bar.setTotal(Math.max(total, 1));
  }

  update(done: number, detail = ''): void {
    const seconds = Math.max((Date.now() - this.startedAt) / 1000, 0.001);
    this.bar.update(done, { rate: (done / seconds).toFixed(1), detail });
  }

  stop(): void {
    this.bar.stop();
  }
}

class LineProgress implements ProgressDisplay {
  private total: number;
  private readonly startedAt: number;
  private lastLineAt: number;
  private done = 0;
  private detail = '';
  private readonly now: () => number;

  constructor(
    private readonly stderr: CliOutput,
    private readonly options: ProgressOptions & { lineIntervalMs: number },
  ) {
    this.total = options.total;
    this.now = options.now ?? Date.now;
    this.startedAt = this.now();
    this.lastLineAt = this.startedAt;
  }

  setTotal(total: number): void {
    this.total = total;
  }

  update(done: number, detail = ''): void {
    this.done = done;
    this.detail = detail;
    if (this.now() - this.lastLineAt >= this.options.lineIntervalMs) this.writeLine();
  }

  stop(): void {
    if (this.printedDone !== this.done) this.writeLine();
  }

  private printedDone: number | undefined;

  private writeLine(): void {
    this.printedDone = this.done;
    this.lastLineAt = this.now();
    const seconds = Math.max((this.lastLineAt - this.startedAt) / 1000, 0.001);
    const rate = this.done / seconds;
    const percent = this.total > 0 ? ` (${Math.floor((100 * this.done) / this.total)} %)` : '';
    const eta =
      rate > 0 && this.total > this.done ? `, about ${formatSeconds((this.total - this.done) / rate)} left` : '';
    this.stderr.write(
      `${this.options.label}: ${this.done}/${this.total}${percent}, ${rate.toFixed(1)}/s${eta}${this.detail ? ` ${this.detail}` : ''}\n`,
    );
  }
}

function formatSeconds(seconds: number): string {
  if (seconds < 90) return `${Math.ceil(seconds)} s`;
  if (seconds < 5400) return `${Math.round(seconds / 60)} min`;
  return `${(seconds / 3600).toFixed(1)} h`;
}
