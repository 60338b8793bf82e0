import { UserError } from '../errors.js';
import { normalizeAuthorName, parseAuthorName, sameAuthor } from '../feed/authors.js';
import { describeFollow } from '../feed/store.js';
import type { Follow } from '../feed/types.js';
import { truncate } from './render.js';
import type { BotServices, FeedPort } from './types.js';

/** What `/follow` and `/feed` share: the feed port, the follows' autocomplete, and the author lookup. */

export function feedOf(services: BotServices): FeedPort {
  if (!services.feed) throw new UserError('The research feed is not enabled on this bot.');
  return services.feed;
}

/** The member's follows matching what they typed, as autocomplete choices whose value is the follow's id. */
export function followChoices(follows: readonly Follow[], typed: string): Array<{ name: string; value: string }> {
  const needle = typed.trim().toLowerCase();
  return follows
    .map((follow) => ({ name: truncate(describeFollow(follow), 100), value: follow.id }))
    .filter((choice) => needle === '' || choice.name.toLowerCase().includes(needle))
    .slice(0, 25);
}

/** How many of the newest papers an author lookup reads: bounded, so it costs the same in a library of any size. */
export const AUTHOR_LOOKUP_PAPERS = 500;

export interface AuthorCandidate {
  /** The name as printed on their newest paper. */
  name: string;
  /** Their newest papers' titles, newest first (at most 2). */
  papers: string[];
}

/**
 * The people among the library's newest papers whom `typed` could mean ("J. Smith": John Smith and Jane Smith), one
 * per normalized name; empty when nobody matches (the follow then waits for a first paper).
 */
export async function authorCandidates(services: BotServices, typed: string): Promise<AuthorCandidate[]> {
  const wanted = parseAuthorName(typed);
  const byPerson = new Map<string, AuthorCandidate>();
  for (const paper of await services.recentPapers(AUTHOR_LOOKUP_PAPERS)) {
    for (const author of paper.authors ?? []) {
      if (!sameAuthor(wanted, parseAuthorName(author))) continue;
      const key = normalizeAuthorName(author);
      const candidate = byPerson.get(key) ?? { name: author, papers: [] };
      if (candidate.papers.length < 2) candidate.papers.push(paper.title);
      byPerson.set(key, candidate);
    }
  }
  const exact = byPerson.get(normalizeAuthorName(typed));
  // The member typed a full name the library prints: that person, no question asked.
  return exact && !/^\p{L}\.?\s/u.test(typed.trim()) ? [exact] : [...byPerson.values()];
}
