import { storedLibraryStats } from '../../library/vectorStores.js';
import { EMPTY_LIBRARY_HINT, parseCommandArgs, type CliCommand } from '../command.js';

export const statsCommand: CliCommand = {
  usage: [
    'papercord stats [--json]',
    '',
    '  --json   print {"papers","vectors","embedder","dimension","bytesOnDisk"}',
    '',
    'The embedder is the one that built the library, as its database records it.',
  ].join('\n'),
  async run(args, context) {
    const { values } = parseCommandArgs(args, { json: { type: 'boolean', default: false } });
    // Read from the library's database: no embedding model, no HNSW graph (hundreds of MB at 100,000 papers), no
    // write. A library that is new or empty, or in PostgreSQL, is opened instead.
    const stats =
      (await storedLibraryStats(context.config)) ?? (await (await context.searchServices()).library.stats());
    if (stats.papers === 0) context.stderr.write(`${EMPTY_LIBRARY_HINT}\n`);
    if (values.json) {
      const { papers, vectors, embedder, dimension, bytesOnDisk } = stats;
      context.stdout.write(`${JSON.stringify({ papers, vectors, embedder, dimension, bytesOnDisk })}\n`);
      return;
    }
    const rows: Array<[string, string]> = [
      ['papers', String(stats.papers)],
      ['vectors', String(stats.vectors)],
      ['embedder', `${stats.embedder} (${stats.embedderDescription})`],
      ['dimension', String(stats.dimension)],
      ['bytes on disk', `${stats.bytesOnDisk} (${formatBytes(stats.bytesOnDisk)})`],
      ['location', stats.directory],
    ];
    for (const [label, value] of rows) context.stdout.write(`${label.padEnd(14)}${value}\n`);
  },
};

function formatBytes(bytes: number): string {
  if (bytes < 1024) return `${bytes} B`;
  if (bytes < 1024 * 1024) return `${(bytes / 1024).toFixed(1)} KiB`;
  return `${(bytes / 1024 / 1024).toFixed(1)} MiB`;
}
