/**
 * Writes a PostgreSQL library in the layout papercord used before the library moved wholly into PostgreSQL, exactly
 * as that version wrote it (`src/library/pgvectorStore.ts` at commit 60897e8^): LangChain's `PGVectorStore` table
 * `papercord_papers` (created by `PGVectorStore.initialize`, rows added by `addVectors`), each row keyed by a UUID
 * derived from the paper id and holding `{ id, title, embedder, paper }` as metadata, and an HNSW index on the vectors.
 */
import { createHash } from 'node:crypto';
import { Document } from '@langchain/core/documents';
import { PGVectorStore } from '@langchain/community/vectorstores/pgvector';
import pg from 'pg';
import type { PaperEmbedder } from '../../src/embeddings/types.js';
import { paperEmbeddingText } from '../../src/library/paperText.js';
import type { Paper } from '../../src/papers/paper.js';

export async function writePreviousLayout(
  connectionString: string,
  embedder: PaperEmbedder,
  papers: readonly Paper[],
  tableName = 'papercord_papers',
): Promise<void> {
  const pool = new pg.Pool({ connectionString, max: 2 });
  const store = await PGVectorStore.initialize(embedder.embeddings, {
    pool,
    tableName,
    dimensions: embedder.dimension,
    distanceStrategy: 'cosine',
  });
  try {
    await pool.query(
      `CREATE INDEX IF NOT EXISTS ${tableName}_embedding_hnsw ON ${tableName} USING hnsw (embedding vector_cosine_ops)`,
    );
    const vectors = await embedder.embeddings.embedDocuments(papers.map(paperEmbeddingText));
    // The old code added papers in batches as they were ingested; two calls keep the rows' order the order added.
    const half = Math.ceil(papers.length / 2);
    for (const [start, end] of [
      [0, half],
      [half, papers.length],
    ] as const) {
      const slice = papers.slice(start, end);
      if (slice.length === 0) continue;
      await store.addVectors(
        vectors.slice(start, end),
        slice.map(
          (paper) =>
            new Document({
              pageContent: paperEmbeddingText(paper),
              metadata: { id: paper.id, title: paper.title, embedder: embedder.id, paper },
            }),
        ),
        { ids: slice.map((paper) => rowKey(paper.id)) },
      );
    }
  } finally {
    await store.end();
  }
}

/** The old row key: a stable UUID for a paper id (PGVectorStore's id column is a uuid). */
function rowKey(paperId: string): string {
  const hex = createHash('sha256').update(`papercord:${paperId}`).digest('hex');
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-8${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}
