import type { Answer, AskOptions } from '../answering/answerService.js';
import type { Comparison } from '../answering/comparison.js';
import type { Paper } from '../papers/paper.js';
import type { RetrievalResult } from '../retrieval/types.js';
import type { Digest } from '../trending/digest.js';
import type { DigestRequest } from '../trending/trendingService.js';
import type { FullTextSource } from '../fulltext/document.js';
import type { OutlineEntry } from '../fulltext/store.js';
import type { IntakeItem, IntakeOutcome, IntakeProgress } from '../intake/paperIntake.js';
import type { AddResult } from '../library/library.js';
import type { LlmErrorKind } from '../ops/metrics.js';
import type { PaperGraph } from '../graph/paperGraph.js';

/**
 * What the main thread asks a library worker, and what comes back. Everything here crosses a thread boundary by
 * structured clone: plain data only (no signals, no callbacks; those travel over the task's MessagePort).
 */
export interface WorkerOperations {
  /** Opens the worker's services (if not yet) and says what they hold: the pool's start-up check and /about. */
  describe: { args: Record<string, never>; result: LibraryDescription };
  ping: { args: Record<string, never>; result: null };
  retrieve: { args: { query: string; k?: number }; result: RetrievalResult };
  ask: {
    args: { question: string; options: Omit<AskOptions, 'signal' | 'onPartial'>; streaming: boolean };
    result: Answer;
  };
  compare: { args: { names: string[] }; result: Comparison };
  summarize: { args: { paper: Paper }; result: string };
  suggest: { args: { query: string; limit: number }; result: Paper[] };
  resolve: { args: { nameOrId: string }; result: Paper };
  digest: { args: { request: Omit<DigestRequest, 'signal'> }; result: Digest };
  add: { args: { papers: Paper[] }; result: AddResult };
  /** Papers brought in by id, link or PDF (`/add`, link pickup); progress streams back over the port. */
  intake: { args: { items: IntakeItem[]; progress: boolean }; result: IntakeOutcome[] };
  recent: { args: { limit: number }; result: Paper[] };
  /** A stored full text's outline, for /paper; null for a paper without one. */
  outline: { args: { paperId: string }; result: { source: FullTextSource; sections: OutlineEntry[] } | null };
  /** A paper's references and citations, for /paper and /related. */
  graph: { args: { paper: Paper }; result: PaperGraph };
}

export type OperationName = keyof WorkerOperations;

export interface LibraryDescription {
  papers: number;
  embedderDescription: string;
  /** `extractive` or `<provider>/<model>`. */
  modelLabel: string;
}

/** One task as piscina hands it to the worker. */
export interface WorkerTask<Name extends OperationName = OperationName> {
  op: Name;
  args: WorkerOperations[Name]['args'];
  /** Abort requests in (`{ abort: reason }`), partial answers out (`{ partial: text }`). */
  port?: MessagePortLike;
}

export type WorkerOutcome<Result = unknown> = { ok: true; value: Result } | { ok: false; error: SerializedError };

/** A thrown error as it crosses the thread boundary; a UserError stays a UserError on the other side. */
export interface SerializedError {
  /** `source`: a paper source failed (a SourceError, which is also a UserError); `user`: another UserError. */
  kind: 'user' | 'source' | 'bug';
  aborted: boolean;
  message: string;
  exitCode?: number;
  name: string;
  stack?: string;
}

export type PortMessage = { abort: string } | { partial: string } | { progress: IntakeProgress };

/** The part of `MessagePort` both sides use (kept structural so tests can look at it). */
export interface MessagePortLike {
  postMessage(message: PortMessage): void;
  on(event: 'message', listener: (message: PortMessage) => void): unknown;
  close(): void;
}

/** Name of the BroadcastChannel on which workers report LLM failures to the main thread's metrics. */
export const METRICS_CHANNEL = 'papercord-worker-metrics';

export interface LlmErrorReport {
  provider: string;
  kind: LlmErrorKind;
}

export type { Answer, AskOptions };
