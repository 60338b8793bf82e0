import type { CliCommand } from '../command.js';

/** A `papercord` command: its name and one line for `papercord help`; the rest is loaded when it runs. */
export interface CommandEntry {
  readonly name: string;
  readonly summary: string;
  /** The command's module, `./<name>.ts`, imported on demand: each command loads only the modules it uses. */
  load(): Promise<CliCommand>;
}

/** Every `papercord` command. Adding one is adding its file and one entry here. */
export const COMMANDS: readonly CommandEntry[] = [
  {
    name: 'add',
    summary: 'add papers by arXiv id, arXiv / Hugging Face / DOI link, or PDF file',
    load: async () => (await import('./add.js')).addCommand,
  },
  {
    name: 'ask',
    summary: 'answer a question from the library, citing the papers used',
    load: async () => (await import('./ask.js')).askCommand,
  },
  {
    name: 'compare',
    summary: 'compare 2 to 4 papers side by side: problem, method, data, results, limitations',
    load: async () => (await import('./compare.js')).compareCommand,
  },
  {
    name: 'eval',
    summary: 'measure retrieval quality on a BEIR benchmark or a question set',
    load: async () => (await import('./eval.js')).evalCommand,
  },
  {
    name: 'export',
    summary: 'export papers (a search or a list of ids) as BibTeX, CSL-JSON or RIS for a reference manager',
    load: async () => (await import('./export.js')).exportCommand,
  },
  {
    name: 'feed',
    summary: 'preview what a follow (topic, author, category, paper, question) would have delivered lately',
    load: async () => (await import('./feed.js')).feedCommand,
  },
  {
    name: 'fulltext',
    summary: "fetch a paper's full text if needed (arXiv HTML, else PDF) and print its outline",
    load: async () => (await import('./fulltext.js')).fulltextCommand,
  },
  {
    name: 'graph',
    summary: "a paper's references and citations (Semantic Scholar, else OpenAlex), marked when in the library",
    load: async () => (await import('./graph.js')).graphCommand,
  },
  {
    name: 'ingest',
    summary:
      'add papers to the library: the seeds, paper files, BibTeX, CSL-JSON, the arXiv snapshot, or an arXiv backfill',
    load: async () => (await import('./ingest.js')).ingestCommand,
  },
  {
    name: 'search',
    summary: 'find the papers that best match a query (hybrid lexical + vector retrieval, as /search)',
    load: async () => (await import('./search.js')).searchCommand,
  },
  {
    name: 'stats',
    summary: 'show what the library holds: papers, vectors, embedder, dimension, bytes on disk',
    load: async () => (await import('./stats.js')).statsCommand,
  },
  {
    name: 'trending',
    summary: "print the day's trending digest, as the bot would post it",
    load: async () => (await import('./trending.js')).trendingCommand,
  },
];
