/**
 * The layers of papercord, checked by dependency-cruiser in `npm test` (`npm run layers`). Each rule's name is what a
 * failing import reports. The picture and the reasons are in docs/architecture.md; change both together.
 *
 * Bottom to top (a layer imports only layers below it, and itself):
 *   foundation   src/errors.ts, src/logger.ts, src/config.ts, src/util/  (imported by every layer)
 *   ops          src/ops/            health, metrics, storage paths       (infrastructure, imported by every layer)
 *   text         src/text/           tokenizing, stemming, stopwords, sentences, BM25 constants and IDF
 *   model        src/papers/, src/embeddings/   the paper model with its sources and parsers; the embedders
 *   library      src/library/        storage, lexical and vector indexes
 *   retrieval    src/retrieval/
 *   features     src/fulltext/, src/answering/, src/intake/, src/trending/, src/feed/, src/graph/   (answering may use full text; not back)
 *   composition  src/services.ts, src/searchServices.ts, src/workers/   builds the services, in-thread or on workers
 *   front ends   src/discord/, src/cli/, src/playground/, src/emulator/, src/main.ts, and commands/
 */
/** Each layer's modules, bottom to top; a layer imports itself and the layers before it. */
const LAYERS = [
  { name: 'foundation', path: '^src/(errors|logger|config)\\.ts$|^src/util/' },
  { name: 'ops', path: '^src/ops/' },
  { name: 'text', path: '^src/text/' },
  { name: 'model', path: '^src/(papers|embeddings)/' },
  { name: 'library', path: '^src/library/' },
  { name: 'retrieval', path: '^src/retrieval/' },
  // The features share one level: none imports another, except answering, which may use full text.
  { name: 'fulltext', path: '^src/fulltext/', level: 'features' },
  { name: 'answering', path: '^src/answering/', level: 'features', alsoUses: ['fulltext'] },
  { name: 'intake', path: '^src/intake/', level: 'features' },
  { name: 'trending', path: '^src/trending/', level: 'features' },
  { name: 'feed', path: '^src/feed/', level: 'features' },
  { name: 'graph', path: '^src/graph/', level: 'features' },
];
const FRONT_ENDS = '^src/(discord|cli|playground|emulator)/|^src/main\\.ts$';
const COMPOSITION = '^src/(services|searchServices)\\.ts$|^src/workers/';

/** One rule per layer: an import of anything else in src/ is a wrong-way (or sideways) import. */
function layerRules() {
  return LAYERS.map((layer, index) => {
    const lower = LAYERS.slice(0, index).filter((other) => !(layer.level && other.level === layer.level));
    const allowed = [...lower.map((other) => other.name), ...(layer.alsoUses ?? [])];
    const paths = [layer.name, ...allowed].map((name) => LAYERS.find((other) => other.name === name).path);
    return {
      name: `${layer.name}-imports-only-lower-layers`,
      severity: 'error',
      comment: `${layer.name} (${layer.path}) imports only ${allowed.join(', ') || 'itself'}: see docs/architecture.md`,
      from: { path: layer.path },
      to: { path: '^src/', pathNot: paths.join('|') },
    };
  });
}

/** Interface modules, and the modules that implement them. */
const INTERFACES = '^src/(library/library|retrieval/types|embeddings/types|discord/types|workers/protocol)\\.ts$';
const IMPLEMENTATIONS =
  '^src/library/(sqlite|postgres)/|^src/retrieval/hybrid\\.ts$|' +
  '^src/embeddings/(hashing|transformers|registry)\\.ts$|^src/discord/coreServices\\.ts$|^src/workers/(workerPool|libraryWorker)\\.ts$';
const DISCORD_JS = '^node_modules/(discord\\.js|@discordjs)/';

module.exports = {
  forbidden: [
    {
      name: 'no-circular',
      severity: 'error',
      comment: 'A cycle ties modules so that neither can be understood, tested or moved without the other.',
      from: {},
      to: { circular: true },
    },
    {
      name: 'src-not-to-test',
      severity: 'error',
      comment: 'Production code never imports test code: what ships (the Docker image) holds no test/.',
      from: { path: '^src/' },
      to: { path: '^test/' },
    },
    {
      name: 'tools-not-to-test',
      severity: 'error',
      comment: 'bench/, scripts/ and commands/ run without test/: shared helpers live under src/ or bench/support/.',
      from: { path: '^(bench|scripts|commands)/' },
      to: { path: '^test/' },
    },
    {
      name: 'src-not-to-commands',
      severity: 'error',
      comment:
        'commands/ is the top of the tree: the entry points (src/main.ts, src/playground/main.ts) import ' +
        'commands/index.ts and pass the modules in; nothing else in src/ knows a command module.',
      from: { path: '^src/', pathNot: '^src/(main|playground/main)\\.ts$' },
      to: { path: '^commands/' },
    },
    {
      name: 'core-not-to-discord-js',
      severity: 'error',
      comment: 'Only the front ends know discord.js; the core runs the same for the CLI, the playground and tests.',
      from: { path: '^src/', pathNot: FRONT_ENDS },
      to: { path: DISCORD_JS },
    },
    {
      name: 'interface-not-to-implementation',
      severity: 'error',
      comment:
        'An interface module describes a contract (Library, PaperRetriever, PaperEmbedder, the bot services port, the ' +
        'worker protocol); its implementations import it, never the other way round.',
      from: { path: INTERFACES },
      to: { path: IMPLEMENTATIONS },
    },
    {
      name: 'emulator-stands-alone',
      severity: 'error',
      comment: 'The Discord emulator stands in for Discord: it knows nothing of papercord.',
      from: { path: '^src/emulator/' },
      to: { path: '^src/', pathNot: '^src/emulator/' },
    },
    ...layerRules(),
    {
      name: 'composition-not-to-front-ends',
      severity: 'error',
      comment: 'The services are built the same for every front end; a front end receives them.',
      from: { path: COMPOSITION },
      to: { path: `${FRONT_ENDS}|^commands/` },
    },
  ],
  options: {
    doNotFollow: { path: 'node_modules' },
    exclude: { path: '^(node_modules|dist|data)/' },
    // Type-only imports are dependencies of the design too: an interface that names an implementation's type is tied to it.
    tsPreCompilationDeps: true,
    tsConfig: { fileName: 'tsconfig.json' },
    enhancedResolveOptions: { exportsFields: ['exports'], conditionNames: ['import', 'require', 'node', 'default'] },
    reporterOptions: { text: { highlightFocused: true } },
  },
};
