import { describeError } from '../errors.js';
import type { Library } from '../library/library.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { FeedStore } from './store.js';
import type { FeedMatch, FeedRanker, Follow, FollowMatcher } from './types.js';

/**
 * Matching as an event on every add: the library's add (whatever path: the daily feed, `/add`, link pickup, backfill,
 * `ingest`) hands the papers it newly stored here, they are matched against every follow and the matches written to
 * the feed store, from which the bot's thread delivers. Nothing here reads the library: the cost is that of the new
 * papers, never of the library's size.
 *
 * Adds happen in the library's worker threads and in other processes (`papercord ingest`), while follows change in
 * the bot's thread: each `FeedMatching` keeps its own follow index in step with the store by replaying the store's
 * follow change log from its cursor, so only what changed is indexed again.
 */
export class FeedMatching {
  private cursor = 0;
  private syncing: Promise<void> | undefined;
  /** Matching of adds already made, one after another; adds never wait for it. */
  private queue: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly store: Pick<FeedStore, 'followChangesAfter' | 'recordMatches' | 'follows' | 'feedback'>,
    private readonly matcher: FollowMatcher,
    private readonly logger: Logger,
    /** Orders each member's matches by what they liked, leaving out what they strongly disliked. */
    private readonly ranker?: FeedRanker,
  ) {}

  /** Takes follows added or removed since the last call into the index. */
  sync(signal?: AbortSignal): Promise<void> {
    // One replay at a time: two adds finishing together must not index the same changes twice.
    this.syncing ??= this.replayChanges(signal).finally(() => (this.syncing = undefined));
    return this.syncing;
  }

  private async replayChanges(signal?: AbortSignal): Promise<void> {
    for (;;) {
      const changes = this.store.followChangesAfter(this.cursor);
      if (changes.length === 0) return;
      const added = new Map<string, Follow>();
      for (const change of changes) {
        if (change.follow) added.set(change.followId, change.follow);
        else {
          added.delete(change.followId);
          this.matcher.remove(change.followId);
        }
      }
      if (added.size > 0) await this.matcher.add([...added.values()], signal ? { signal } : {});
      this.cursor = changes.at(-1)!.seq;
    }
  }

  /**
   * The matches of members who gave feedback, scored by their ranker (trained here, where the papers' vectors can be
   * computed); a paper the ranker leaves out is not delivered. Members without feedback keep the match scores.
   */
  private async ranked(matches: FeedMatch[], papers: readonly Paper[], signal?: AbortSignal): Promise<FeedMatch[]> {
    const byId = new Map(papers.map((paper) => [paper.id, paper]));
    const byUser = new Map<string, FeedMatch[]>();
    for (const match of matches) byUser.set(match.userId, [...(byUser.get(match.userId) ?? []), match]);
    const kept: FeedMatch[] = [];
    for (const [userId, userMatches] of byUser) {
      const feedback = this.store.feedback(userId);
      if (feedback.length === 0) {
        kept.push(...userMatches);
        continue;
      }
      const candidates = [...new Set(userMatches.map((match) => match.paperId))].flatMap((id) => byId.get(id) ?? []);
      const ranked = await this.ranker!.rank(
        { follows: this.store.follows(userId), feedback },
        candidates,
        signal ? { signal } : {},
      );
      const scores = new Map(ranked.map((entry) => [entry.paper.id, entry.score]));
      for (const match of userMatches) {
        const score = scores.get(match.paperId);
        if (score !== undefined) kept.push({ ...match, score });
      }
    }
    return kept;
  }

  /**
   * Matches what an add newly stored, after the adds before it; resolves once the matches are recorded (never
   * rejects). The add awaits it: a worker thread's task is not over before its papers are matched.
   */
  enqueue(papers: readonly Paper[]): Promise<number> {
    if (papers.length === 0) return Promise.resolve(0);
    const run = this.queue.then(() => this.papersAdded(papers));
    this.queue = run;
    return run;
  }

  /** Resolves once every add made so far has been matched and recorded. */
  async drain(): Promise<void> {
    for (let current = this.queue; ; current = this.queue) {
      await current;
      if (current === this.queue) return;
    }
  }

  /**
   * What the add newly stored, matched and recorded for delivery; the number of matches recorded. Never throws: a
   * failure here is logged and must not fail the add that brought the papers in.
   */
  async papersAdded(papers: readonly Paper[], signal?: AbortSignal): Promise<number> {
    if (papers.length === 0) return 0;
    try {
      await this.sync(signal);
      if (this.matcher.size === 0) return 0;
      const matched = await this.matcher.match(papers, signal ? { signal } : {});
      const matches = this.ranker ? await this.ranked(matched, papers, signal) : matched;
      const recorded = this.store.recordMatches(matches, papers);
      if (recorded > 0) this.logger.info({ papers: papers.length, matches: recorded }, 'new papers matched follows');
      return recorded;
    } catch (error) {
      this.logger.error({ err: describeError(error), papers: papers.length }, 'matching new papers to follows failed');
      return 0;
    }
  }
}

/**
 * The library, with every add reporting the papers it newly stored to `onAdded` and waiting for it (after the
 * commit; `onAdded` must not reject). Every path that adds (the daily feed, intake, backfill, `ingest`, the LangChain vector store) holds this
 * object, so none can add without the event. A Proxy rather than a copy of the interface: every other member is the
 * library's own, bound to it (its private fields stay reachable).
 */
export function withAddEvents<L extends Pick<Library, 'add'>>(
  library: L,
  onAdded: (added: Paper[]) => Promise<unknown>,
): L {
  return new Proxy(library, {
    get(target, property) {
      if (property === 'add') {
        const add: Library['add'] = async (papers, options) => {
          const result = await target.add(papers, options);
          await onAdded(result.added);
          return result;
        };
        return add;
      }
      const value: unknown = Reflect.get(target, property, target);
      return typeof value === 'function' ? (value as (...args: unknown[]) => unknown).bind(target) : value;
    },
  });
}
