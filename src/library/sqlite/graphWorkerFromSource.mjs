// The bulk-ingest graph worker when papercord runs from TypeScript sources (see prepareWorkerFromSource.mjs).
import { tsImport } from 'tsx/esm/api';

await tsImport('./graphWorker.ts', import.meta.url);
