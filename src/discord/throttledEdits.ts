import type { Logger } from '../logger.js';

/**
 * Shows a growing text by editing one message at most once per interval: Discord rate-limits edits, and a reader
 * gains nothing from 50 edits a second. Edits never overlap, and none runs after `finish()` returns, so the final
 * edit that follows cannot be overwritten by a late partial one.
 */
export class ThrottledEdits {
  private latest: string | undefined;
  private shown: string | undefined;
  private lastEditAt = 0;
  private timer: NodeJS.Timeout | undefined;
  private inFlight: Promise<void> | undefined;
  private finished = false;

  constructor(
    private readonly edit: (text: string) => Promise<unknown>,
    private readonly logger: Logger,
    private readonly intervalMs = 1000,
  ) {}

  push(text: string): void {
    if (this.finished) return;
    this.latest = text;
    this.schedule();
  }

  /** Stops editing and waits for an edit already on its way. */
  async finish(): Promise<void> {
    this.finished = true;
    if (this.timer) clearTimeout(this.timer);
    this.timer = undefined;
    await this.inFlight;
  }

  private schedule(): void {
    if (this.timer || this.inFlight) return;
    const wait = Math.max(0, this.lastEditAt + this.intervalMs - Date.now());
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.flush();
    }, wait);
  }

  private flush(): void {
    const text = this.latest;
    if (this.finished || text === undefined || text === this.shown) return;
    this.shown = text;
    this.lastEditAt = Date.now();
    this.inFlight = this.edit(text)
      .then(() => undefined)
      .catch((error: unknown) => this.logger.warn({ err: error }, 'partial answer edit failed'))
      .finally(() => {
        this.inFlight = undefined;
        if (!this.finished && this.latest !== this.shown) this.schedule();
      });
  }
}
