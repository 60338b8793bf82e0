/**
 * The paper graph's cache with VECTOR_STORE=pgvector: kept in PostgreSQL, so a second process sharing the database
 * answers from what the first fetched. Each run gets a database of its own.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { createServices, type Services } from '../../src/services.js';
import { CitationStandIn } from '../helpers/citationServer.js';
import { missingService } from '../support/services.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

describe.skipIf(withoutPostgres)('the paper graph cache with VECTOR_STORE=pgvector (real PostgreSQL)', () => {
  const database = `papercord_graph_${process.pid}_${Date.now().toString(36)}`;
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  const opened: Array<{ services: Services; dataDir: string }> = [];
  let citations: CitationStandIn;
  let databaseUrl: string;

  async function startProcess(s2Base: string): Promise<Services> {
    const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-pggraph-'));
    const config = loadConfig({
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      VECTOR_STORE: 'pgvector',
      DATABASE_URL: databaseUrl,
      FULL_TEXT: 'off',
      S2_API_BASE: s2Base,
      OPENALEX_API_BASE: 'http://127.0.0.1:2',
      S2_REQUEST_INTERVAL_MS: '0',
    });
    const services = await createServices(config, silentLogger());
    opened.push({ services, dataDir });
    return services;
  }

  beforeAll(async () => {
    await admin.query(`CREATE DATABASE ${database}`);
    databaseUrl = Object.assign(new URL(serverUrl!), { pathname: `/${database}` }).href;
    citations = await CitationStandIn.start();
    citations.addS2({
      arxivId: '2502.31001',
      title: 'A Paper Whose Graph Is Shared',
      references: [{ title: 'Attention Is All You Need', arxivId: '1706.03762', year: 2017 }],
      citations: [],
    });
  });

  afterAll(async () => {
    for (const { services, dataDir } of opened) {
      await services.close();
      await rm(dataDir, { recursive: true, force: true });
    }
    await citations?.close();
    await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
    await admin.end();
  });

  it('given a graph fetched by one process, it should be answered from PostgreSQL by another with the services down', async () => {
    const subject = { title: 'A Paper Whose Graph Is Shared', arxivId: '2502.31001' };
    const first = await startProcess(citations.baseUrl);
    const fetched = await first.graph.graph(subject);
    expect(fetched.references.map((paper) => paper.id)).toEqual(['1706.03762']);

    const second = await startProcess('http://127.0.0.1:2');
    const cached = await second.graph.graph(subject, { refresh: true });
    expect(cached.references.map((paper) => paper.id)).toEqual(['1706.03762']);
    expect(cached.fetchedAt).toBe(fetched.fetchedAt);
    expect(cached.notes.join(' ')).toMatch(/ECONNREFUSED.*showing what was fetched on/);
  }, 60_000);
});
