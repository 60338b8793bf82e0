// The bulk-ingest worker when papercord runs from TypeScript sources (`npm run cli`, tests, benches): tsx compiles
// it on import. A thread does not inherit the tsx loader (`--import tsx` in a worker's execArgv is not honoured on
// Node 20, so the worker failed to start and every ingest from source embedded on the main thread), so the worker
// loads itself through tsx's API. Built code runs `prepareWorker.js` directly and never reads this file.
import { tsImport } from 'tsx/esm/api';

await tsImport('./prepareWorker.ts', import.meta.url);
