/**
 * The Library contract on PostgreSQL with pgvector: PGVECTOR_TEST_URL names a server (`.ci/run` starts one and exports
 * it); each test gets a database of its own. Without it the suite skips and says why; under CI=true it fails instead.
 */
import pg from 'pg';
import { afterAll, describe } from 'vitest';
import { missingService } from '../../support/services.js';
import { describeLibraryContract } from './libraryContract.js';

const serverUrl = process.env.PGVECTOR_TEST_URL;
const withoutPostgres = missingService(
  'PostgreSQL with pgvector',
  serverUrl ? undefined : 'PGVECTOR_TEST_URL is not set (`.ci/run` sets it after starting PostgreSQL with pgvector)',
);

describe.skipIf(withoutPostgres)('PostgreSQL with pgvector', () => {
  const admin = new pg.Pool({ connectionString: serverUrl, max: 1 });
  let databases = 0;
  afterAll(() => admin.end());

  describeLibraryContract('PostgreSQL library (VECTOR_STORE=pgvector)', {
    create: async () => {
      const database = `papercord_contract_${process.pid}_${Date.now().toString(36)}_${databases++}`;
      await admin.query(`CREATE DATABASE ${database}`);
      return {
        env: {
          VECTOR_STORE: 'pgvector',
          DATABASE_URL: Object.assign(new URL(serverUrl!), { pathname: `/${database}` }).href,
        },
        remove: async () => {
          await admin.query(`DROP DATABASE IF EXISTS ${database} WITH (FORCE)`);
        },
      };
    },
  });
});
