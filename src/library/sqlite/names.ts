import type { Database, Statement } from 'better-sqlite3';
import type { Paper } from '../../papers/paper.js';
import { editDistance } from '../../text/editDistance.js';
import { nameTokens } from '../lookup.js';

/**
 * The index behind finding a paper by what a person types (autocomplete, `/paper <name>`): an SQLite FTS5 table
 * over titles and abstracts, without a copy of their text (`content=''`), searched with prefixes so every
 * keystroke narrows it, and with small typos forgiven for longer words.
 */

export const NAMES_SCHEMA = `
  CREATE VIRTUAL TABLE IF NOT EXISTS paper_names USING fts5(
    title, abstract, content='', tokenize = "unicode61 remove_diacritics 0 tokenchars '-'"
  );
  CREATE VIRTUAL TABLE IF NOT EXISTS paper_names_vocabulary USING fts5vocab(paper_names, 'row');
`;

/** A title match counts four times an abstract match. */
const TITLE_WEIGHT = 4;
/** Words at least this long may be misspelled by `round(length × FUZZINESS)` edits. */
const FUZZY_MIN_LENGTH = 5;
const FUZZINESS = 0.2;

export interface NameMatch {
  seq: number;
  /** Higher is better. */
  score: number;
}

export class NameIndex {
  private readonly insert: Statement<[number, string, string]>;
  private readonly vocabularyNear: Statement<[string, string, number, number], { term: string }>;
  private readonly hasPrefix: Statement<[string, string], { term: string }>;
  private readonly db: Database;

  constructor(db: Database) {
    this.db = db;
    db.exec(NAMES_SCHEMA);
    this.insert = db.prepare('INSERT INTO paper_names (rowid, title, abstract) VALUES (?, ?, ?)');
    this.hasPrefix = db.prepare('SELECT term FROM paper_names_vocabulary WHERE term >= ? AND term < ? LIMIT 1');
    this.vocabularyNear = db.prepare(
      'SELECT term FROM paper_names_vocabulary WHERE term >= ? AND term < ? AND length(term) BETWEEN ? AND ?',
    );
  }

  /** Call inside the transaction that stores the papers. */
  add(papers: ReadonlyArray<{ seq: number; paper: Pick<Paper, 'title' | 'abstract'> }>): void {
    for (const { seq, paper } of papers)
      this.insert.run(seq, nameTokens(paper.title).join(' '), nameTokens(paper.abstract).join(' '));
  }

  /**
   * Papers having every word typed (`all`) or any of them, best first; each word matches the words it begins,
   * and a long word nothing begins with also matches words within a typo or two of it.
   */
  match(query: string, options: { all: boolean; limit: number }): NameMatch[] {
    const words = [...new Set(nameTokens(query))];
    if (words.length === 0) return [];
    const clauses = words.map((word) => {
      const alternatives = [`"${word}"*`];
      if (word.length >= FUZZY_MIN_LENGTH && !this.hasPrefix.get(word, `${word}\uffff`)) {
        alternatives.push(...this.nearWords(word).map((near) => `"${near}"`));
      }
      return alternatives.length === 1 ? alternatives[0]! : `(${alternatives.join(' OR ')})`;
    });
    const rows = this.db
      .prepare<[string, number], { seq: number; rank: number }>(
        `SELECT rowid AS seq, bm25(paper_names, ${TITLE_WEIGHT}, 1) AS rank FROM paper_names WHERE paper_names MATCH ? ORDER BY rank LIMIT ?`,
      )
      .all(clauses.join(options.all ? ' AND ' : ' OR '), options.limit);
    // bm25() is lower for better matches.
    return rows.map((row) => ({ seq: row.seq, score: -row.rank }));
  }

  /** Known words within the allowed edit distance, sharing the first letter (a full vocabulary scan is too slow at 100k papers). */
  private nearWords(word: string): string[] {
    const distance = Math.round(word.length * FUZZINESS);
    const first = word[0]!;
    const near: string[] = [];
    for (const { term } of this.vocabularyNear.iterate(
      first,
      `${first}\uffff`,
      word.length - distance,
      word.length + distance,
    )) {
      if (editDistance(word, term, distance) <= distance) near.push(term);
    }
    return near.slice(0, 20);
  }
}
