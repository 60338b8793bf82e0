// The PDF child process when papercord runs from TypeScript sources (`npm start`, tests): tsx compiles it on import,
// as the library workers do (see src/workers/libraryWorkerFromSource.mjs). Built code runs `pdfChild.js` directly.
import { tsImport } from 'tsx/esm/api';

await tsImport('./pdfChild.ts', import.meta.url);
