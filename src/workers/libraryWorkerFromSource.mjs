// The library worker when papercord runs from TypeScript sources (`npm start`, tests, benches): tsx compiles it on
// import. A thread does not reliably inherit the tsx loader (`--import tsx` in a worker's execArgv is ignored when the
// process itself started without it, as under a test runner), so the worker loads itself through tsx's API.
// Built code (`npm run build`, the Docker image) runs `libraryWorker.js` directly and never reads this file.
import { tsImport } from 'tsx/esm/api';

const worker = await tsImport('./libraryWorker.ts', import.meta.url);

export default worker.default;
