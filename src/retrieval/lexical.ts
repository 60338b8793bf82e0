import MiniSearch from 'minisearch';
import type { Paper } from '../papers/paper.js';

/**
 * Full-text index over titles and abstracts, persisted beside the vector index.
 * (First version: minisearch defaults. Retrieval tuning replaces the internals, not this interface.)
 */
export interface LexicalHit {
  id: string;
  score: number;
}

export class LexicalIndex {
  private readonly search_: MiniSearch<Paper>;

  private constructor(search: MiniSearch<Paper>) {
    this.search_ = search;
  }

  static create(): LexicalIndex {
    return new LexicalIndex(new MiniSearch<Paper>(LexicalIndex.options()));
  }

  /** Restores an index from `toJSON()` output; throws when the data is not a lexical index. */
  static fromJSON(json: string): LexicalIndex {
    return new LexicalIndex(MiniSearch.loadJSON<Paper>(json, LexicalIndex.options()));
  }

  private static options() {
    return { fields: ['title', 'abstract'], storeFields: [], idField: 'id' };
  }

  get size(): number {
    return this.search_.documentCount;
  }

  has(id: string): boolean {
    return this.search_.has(id);
  }

  add(papers: readonly Paper[]): void {
    this.search_.addAll(papers.filter((paper) => !this.search_.has(paper.id)));
  }

  search(query: string, k: number): LexicalHit[] {
    return this.search_
      .search(query)
      .slice(0, k)
      .map((result) => ({ id: String(result.id), score: result.score }));
  }

  toJSON(): string {
    return JSON.stringify(this.search_);
  }
}
