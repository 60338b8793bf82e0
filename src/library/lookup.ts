import { UserError } from '../errors.js';
import { normalizeTitle, type Paper } from '../papers/paper.js';
import { parseArxivReference } from '../papers/arxivIds.js';
import type { Library } from './library.js';

/**
 * Finding a paper by what a person types: an id, a title, the start of a title, a short name ("MrT5",
 * "Mixture-of-Recursions") or an acronym the abstract introduces ("TDPO", "H-Net"). Used by autocomplete and by
 * every command that takes a paper name.
 */

export interface RankedPaper {
  paper: Paper;
  score: number;
  /** Has only some of the words typed. */
  partial?: boolean;
}

/** Words, keeping hyphenated names whole as well as split ("h-net", "h", "net"). */
export function nameTokens(text: string): string[] {
  const tokens: string[] = [];
  for (const word of text
    .normalize('NFKC')
    .toLowerCase()
    .split(/[^\p{L}\p{N}-]+/u)) {
    const trimmed = word.replace(/^-+|-+$/g, '');
    if (!trimmed) continue;
    tokens.push(trimmed);
    if (trimmed.includes('-')) tokens.push(...trimmed.split('-').filter(Boolean));
  }
  return tokens;
}

/** What ranking names reads from a library that answers at once (the local one; PostgreSQL ranks in SQL). */
export interface NamedPapers {
  readonly size: number;
  first(limit: number): Paper[];
  get(id: string): Paper | undefined;
  getByTitle(title: string): Paper | undefined;
  matchNames(query: string, options: { all: boolean; limit: number }): Array<{ paper: Paper; score: number }>;
}

/** A top match at least this many times the score of the next is taken as the one meant. */
const CLEAR_WINNER_RATIO = 2;

/**
 * Share of the typed words that begin a word of the title. The name index ranks a prefix by all the words it
 * begins ("tra": training, transformer, transfer), so a title holding every typed word is lifted above an abstract
 * that merely uses them often.
 */
function titleCoverage(typed: readonly string[], title: string): number {
  if (typed.length === 0) return 0;
  const words = nameTokens(title);
  return typed.filter((word) => words.some((candidate) => candidate.startsWith(word))).length / typed.length;
}

/** The short name before a title's colon ("MrT5", "Mixture-of-Recursions"), normalized. */
function shortName(title: string): string | undefined {
  const colon = title.indexOf(':');
  return colon > 0 ? normalizeTitle(title.slice(0, colon)) : undefined;
}

/**
 * Papers having every word typed come first; papers having only some follow when `broaden` is set (autocomplete
 * wants candidates) or when nothing has every word (a typo, an extra word).
 */
function rankPapers(library: NamedPapers, query: string, limit: number, broaden: boolean): RankedPaper[] {
  const wanted = normalizeTitle(query);
  if (!wanted) return library.first(limit).map((paper) => ({ paper, score: 0 }));
  // Enough candidates that an exact title ranked low by BM25 is still among them.
  const depth = Math.max(limit, 50);
  const results: RankedPaper[] = library.matchNames(query, { all: true, limit: depth });
  if (broaden || results.length === 0) {
    const seen = new Set(results.map((result) => result.paper.id));
    const partial = library
      .matchNames(query, { all: false, limit: depth })
      .filter((result) => !seen.has(result.paper.id));
    // Shrunk so that partial matches rank below every full match.
    const scale = results.length > 0 ? 1e-6 : 1;
    results.push(...partial.map((result) => ({ ...result, score: result.score * scale, partial: true })));
  }
  const exact = library.getByTitle(query);
  if (exact && !results.some((result) => result.paper.id === exact.id)) results.push({ paper: exact, score: 0 });
  return rankByTitle(query, results).slice(0, limit);
}

/**
 * Text matches reordered as people mean names: titles holding the typed words lifted above abstracts that use them
 * often, exact titles and short names first, titles starting with what was typed next. Shared by both libraries.
 */
export function rankByTitle(query: string, found: readonly RankedPaper[]): RankedPaper[] {
  const wanted = normalizeTitle(query);
  const typed = [...new Set(nameTokens(query))];
  return found
    .map((hit) => ({ ...hit, score: hit.score * (1 + titleCoverage(typed, hit.paper.title)) }))
    .map((hit) => {
      const title = normalizeTitle(hit.paper.title);
      // Exact titles and short names beat anything that merely mentions the words.
      if (title === wanted || shortName(hit.paper.title) === wanted) return { ...hit, score: hit.score + 1_000_000 };
      if (title.startsWith(wanted)) return { ...hit, score: hit.score + 1_000 };
      return hit;
    })
    .sort((a, b) => b.score - a.score);
}

/** Papers whose title (or abstract) matches what was typed so far, best first; the first papers when empty. */
export function suggestPapers(library: NamedPapers, query: string, limit = 25): Paper[] {
  return rankPapers(library, query, limit, true).map((hit) => hit.paper);
}

/**
 * The paper meant by `nameOrId`: an id (`t:…`, `arxiv:…`), an arXiv id, an exact title, or a name that clearly
 * points at one paper. Throws a UserError listing the closest titles when it matches none or several.
 */
export function resolvePaper(library: NamedPapers, nameOrId: string): Paper {
  const wanted = nameOrId.trim();
  if (library.size === 0) throw new UserError(EMPTY_LIBRARY_MESSAGE);
  if (!wanted) throw new UserError(NO_NAME_MESSAGE);
  for (const id of idsMeant(wanted)) {
    const byId = library.get(id);
    if (byId) return byId;
  }
  return chooseResolved(wanted, rankPapers(library, wanted, 5, false));
}

export const EMPTY_LIBRARY_MESSAGE = 'the library is empty; add papers first with `papercord ingest`';
export const NO_NAME_MESSAGE = 'no paper named: give a title, a short name or an id';

/**
 * Ids a typed name can be, in order: itself (`t:…`, `arxiv:…`), then as an arXiv id without its version, then the
 * paper an arXiv, Hugging Face or DOI link names.
 */
export function idsMeant(wanted: string): string[] {
  const linked = parseArxivReference(wanted);
  return [
    wanted,
    `arxiv:${wanted.replace(/^arxiv:/i, '').replace(/v\d+$/, '')}`,
    ...(linked ? [`arxiv:${linked}`] : []),
  ];
}

/** The one paper `ranked` (best first, from `rankByTitle`) clearly points at; a UserError listing them otherwise. */
export function chooseResolved(wanted: string, ranked: readonly RankedPaper[]): Paper {
  const [best, second] = ranked;
  if (best && (!second || best.score >= CLEAR_WINNER_RATIO * second.score)) return best.paper;
  if (!best) throw new UserError(`no paper in the library matches "${wanted}"`);
  const titles = ranked.map((hit) => `"${hit.paper.title}"`).join(', ');
  // Papers sharing a word or two with a name are not what it "matches"; say that nothing does, and offer them.
  if (best.partial) throw new UserError(`no paper in the library matches "${wanted}"; the closest titles: ${titles}`);
  throw new UserError(`"${wanted}" matches several papers; did you mean one of: ${titles}?`);
}

/**
 * The one paper a question names by its short name ("what learning rate did MrT5 use?"), among the papers the
 * question matches lexically; undefined when it names none or several.
 */
export async function paperNamedIn(
  library: Pick<Library, 'lexicalSearch'>,
  question: string,
): Promise<Paper | undefined> {
  const asked = ` ${normalizeTitle(question)} `;
  const named = new Map<string, Paper>();
  for (const hit of await library.lexicalSearch(question, 10)) {
    const name = shortName(hit.paper.title);
    if (name && name.length >= 3 && asked.includes(` ${name} `)) named.set(hit.paper.id, hit.paper);
  }
  return named.size === 1 ? [...named.values()][0] : undefined;
}
