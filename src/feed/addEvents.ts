import { describeError } from '../errors.js';
import type { Logger } from '../logger.js';
import type { Paper } from '../papers/paper.js';
import type { FeedStore } from './store.js';
import type { Follow, FollowMatcher } from './types.js';

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

  constructor(
    private readonly store: Pick<FeedStore, 'followChangesAfter' | 'recordMatches'>,
    private readonly matcher: FollowMatcher,
    private readonly logger: Logger,
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
   * What the add newly stored, matched and recorded for delivery; the number of matches recorded. Never throws: a
   * failure here is logged and must not fail the add that brought the papers in.
   */
  async papersAdded(papers: readonly Paper[], signal?: AbortSignal): Promise<number> {
    if (papers.length === 0) return 0;
    try {
      await this.sync(signal);
      if (this.matcher.size === 0) return 0;
      const matches = await this.matcher.match(papers, signal ? { signal } : {});
      const recorded = this.store.recordMatches(matches, papers);
      if (recorded > 0) this.logger.info({ papers: papers.length, matches: recorded }, 'new papers matched follows');
      return recorded;
    } catch (error) {
      this.logger.error({ err: describeError(error), papers: papers.length }, 'matching new papers to follows failed');
      return 0;
    }
  }
}
