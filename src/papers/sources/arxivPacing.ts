/**
 * When the next arXiv request may start, for the whole process. arXiv asks clients for one request every 3 seconds;
 * the API client and the full-text fetcher of every thread reserve their start in one shared slot (a
 * SharedArrayBuffer the main thread makes and hands each library worker), so the spacing holds however many worker
 * threads run, not once per thread.
 */
export class ArxivPacer {
  readonly buffer: SharedArrayBuffer;
  /** The start, in epoch milliseconds, of the latest request reserved; 0 before any. */
  private readonly lastStart: BigInt64Array;

  constructor(buffer: SharedArrayBuffer = new SharedArrayBuffer(BigInt64Array.BYTES_PER_ELEMENT)) {
    this.buffer = buffer;
    this.lastStart = new BigInt64Array(buffer);
  }

  /**
   * Reserves a start at least `intervalMs` after the latest one reserved (or now, when that is long past) and returns
   * how long to wait for it. A compare-and-swap loop: two threads never reserve the same start.
   */
  reserve(intervalMs: number, now = Date.now()): number {
    if (intervalMs <= 0) return 0;
    for (;;) {
      const last = Atomics.load(this.lastStart, 0);
      const start = last === 0n ? now : Math.max(now, Number(last) + intervalMs);
      if (Atomics.compareExchange(this.lastStart, 0, last, BigInt(start)) === last) return start - now;
    }
  }

  /** Records a request that could not wait (a question's), so background requests keep their distance from it. */
  mark(now = Date.now()): void {
    for (;;) {
      const last = Atomics.load(this.lastStart, 0);
      if (Number(last) >= now || Atomics.compareExchange(this.lastStart, 0, last, BigInt(now)) === last) return;
    }
  }
}

let processPacer: ArxivPacer | undefined;

/** This process's pacer: the main thread's, once a worker has adopted it. */
export function processArxivPacer(): ArxivPacer {
  return (processPacer ??= new ArxivPacer());
}

/** In a library worker: pace arXiv requests on the main thread's slot (`processArxivPacer().buffer` there). */
export function adoptArxivPacer(buffer: SharedArrayBuffer): void {
  processPacer = new ArxivPacer(buffer);
}
