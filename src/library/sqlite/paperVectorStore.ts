import { Document, type DocumentInterface } from '@langchain/core/documents';
import { VectorStore } from '@langchain/core/vectorstores';
import { paperId, type Paper } from '../../papers/paper.js';
import type { PaperLibrary, PreparedPaper } from './paperLibrary.js';
import { analyzePaper } from '../../text/analysis.js';
import { paperEmbeddingText } from '../paperText.js';

/**
 * LangChain's `VectorStore` interface on the library's own storage, for LangChain chains and retrievers. LangChain's
 * `HNSWLib` keeps a docstore with a copy of every document beside the graph; here the graph holds sequence numbers
 * only and documents are read from the library's database, so no paper is stored twice.
 *
 * Scores are cosine similarities (higher is closer), as everywhere in papercord. Documents carry `id`, `title` and
 * `url` in their metadata; their content is what the library embeds (title, blank line, abstract).
 */
export class PaperVectorStore extends VectorStore {
  declare FilterType: never;
  private readonly library: PaperLibrary;

  constructor(library: PaperLibrary) {
    super(library.embedder.embeddings, {});
    this.library = library;
  }

  _vectorstoreType(): string {
    return 'papercord-library';
  }

  /** Adds documents as papers (title from `metadata.title` or the first line); returns the stored papers' ids. */
  async addDocuments(documents: DocumentInterface[]): Promise<string[]> {
    const { stored } = await this.library.add(documents.map(toPaper));
    return stored.map((paper) => paper.id);
  }

  async addVectors(vectors: number[][], documents: DocumentInterface[]): Promise<string[]> {
    const papers = documents.map(toPaper);
    const prepared = new Map<string, PreparedPaper>(
      papers.map((paper, index) => [paper.id, { vector: vectors[index]!, analyzed: analyzePaper(paper) }]),
    );
    const { stored } = await this.library.add(papers, { prepared });
    return stored.map((paper) => paper.id);
  }

  async similaritySearchVectorWithScore(query: number[], k: number): Promise<[Document, number][]> {
    const hits = await this.library.vectorSearchByVector(query, k);
    return hits.map(({ paper, score }) => [
      new Document({
        pageContent: paperEmbeddingText(paper),
        metadata: { id: paper.id, title: paper.title, url: paper.url },
      }),
      score,
    ]);
  }
}

function toPaper(document: DocumentInterface): Paper {
  const metadata = document.metadata as { id?: unknown; title?: unknown; url?: unknown };
  const [firstLine = '', ...rest] = document.pageContent.split('\n');
  const title = typeof metadata.title === 'string' ? metadata.title : firstLine.trim();
  const abstract = (
    typeof metadata.title === 'string' && !document.pageContent.startsWith(metadata.title)
      ? document.pageContent
      : rest.join('\n')
  ).trim();
  const paper: Paper = {
    id: typeof metadata.id === 'string' ? metadata.id : paperId({ title }),
    title,
    abstract: abstract || title,
    source: 'langchain',
  };
  if (typeof metadata.url === 'string') paper.url = metadata.url;
  return paper;
}
