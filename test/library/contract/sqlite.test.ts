import { describeLibraryContract } from './libraryContract.js';

// The local library: SQLite under DATA_DIR with its HNSW graph; the test's DATA_DIR is new and empty.
describeLibraryContract('local library (SQLite and HNSW under DATA_DIR)', {
  create: async () => ({ env: { VECTOR_STORE: 'hnsw' }, remove: async () => {} }),
});
