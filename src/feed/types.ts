import type { Paper } from '../papers/paper.js';

/**
 * The research feed's matching core (issue 24): what a member follows, what a new paper matched, and the per-user
 * ranker trained by feedback. The store, the Discord commands and delivery build on these types; nothing here knows
 * about Discord or about where follows are stored.
 */

export type FollowKind = 'topic' | 'author' | 'category' | 'paper' | 'question';

export const FOLLOW_KINDS: readonly FollowKind[] = Object.freeze(['topic', 'author', 'category', 'paper', 'question']);

interface FollowBase {
  /** Stable id the store gives the follow. */
  id: string;
  /** Who follows: a Discord user id, or a channel id for a channel's ranking. */
  userId: string;
}

/** A line of work, matched by meaning and words; a paper containing an excluded word or phrase never matches. */
export interface TopicFollow extends FollowBase {
  kind: 'topic';
  text: string;
  /** Words or phrases ("video", "reinforcement learning") that veto a match; empty when none. */
  exclude: readonly string[];
}

/** Papers by an author; `name` as the user typed it, matched through `normalizeAuthorName`. */
export interface AuthorFollow extends FollowBase {
  kind: 'author';
  name: string;
}

/** Papers whose primary arXiv category is `code` (validated with `validateCategory`, e.g. `cs.CL`). */
export interface CategoryFollow extends FollowBase {
  kind: 'category';
  code: string;
}

/** "More like this paper": `paperId` is a library id, `title` is what the why line names. */
export interface PaperFollow extends FollowBase {
  kind: 'paper';
  paperId: string;
  title: string;
}

/** A watched question: a paper matches when it would be a cited source of the answer with high confidence. */
export interface QuestionFollow extends FollowBase {
  kind: 'question';
  text: string;
}

export type Follow = TopicFollow | AuthorFollow | CategoryFollow | PaperFollow | QuestionFollow;

/** A follow as the user gives it, before the store assigns an id. */
export type FollowInput = DistributiveOmit<Follow, 'id'>;
type DistributiveOmit<T, K extends keyof T> = T extends unknown ? Omit<T, K> : never;

/** One new paper matching one follow. */
export interface FeedMatch {
  followId: string;
  userId: string;
  paperId: string;
  kind: FollowKind;
  /** Higher is a better match, in [0, 1]; comparable across follows of one user. */
  score: number;
  /** One line saying why: `follows topic "…"`, `by Lena Fischer`, `like *X*, which you liked`, or for a question the sentence of the paper that bears on it. */
  why: string;
}

/** The follows of every user, indexed so that matching a new paper costs the same in a library of any size. */
export interface FollowMatcher {
  /** Adds (or replaces, by id) follows; embeds topic, question and paper follows' text once. */
  add(follows: readonly Follow[], options?: { signal?: AbortSignal }): Promise<void>;
  /** Forgets a follow; unknown ids are ignored. */
  remove(followId: string): void;
  /** Follows held. */
  readonly size: number;
  /** What the papers just stored match, best first per paper. `papers` are the library's copies (AddResult.stored/added). */
  match(papers: readonly Paper[], options?: { signal?: AbortSignal }): Promise<FeedMatch[]>;
}

/** One 👍 or 👎 on a delivered paper. */
export interface FeedbackEvent {
  paperId: string;
  verdict: 'like' | 'dislike';
}

/** A paper ranked for one user (or channel). */
export interface RankedPaper {
  paper: Paper;
  /** The ranker's score; higher first. Below `RANK_CUTOFF` the paper is dropped (strongly disliked). */
  score: number;
}

/**
 * A per-user (or per-channel) linear model over paper vectors and words, trained from feedback and warm-started
 * from the follows. Training is a few milliseconds for the few events a user gives, so it is retrained on demand
 * and never stored.
 */
export interface FeedRanker {
  /** Orders `papers` for the user, best first, leaving out strongly disliked ones. */
  rank(
    subject: { follows: readonly Follow[]; feedback: readonly FeedbackEvent[] },
    papers: readonly Paper[],
    options?: { signal?: AbortSignal },
  ): Promise<RankedPaper[]>;
}
