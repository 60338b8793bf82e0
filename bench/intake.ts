import { createWriteStream } from 'node:fs';
import { mkdtemp, rm, stat } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { once } from 'node:events';
import { parseCommandArgs, parseCount } from '../src/cli/command.js';
import { loadConfig } from '../src/config.js';
import { createEmbedder } from '../src/embeddings/registry.js';
import { PaperLibrary } from '../src/library/sqlite/paperLibrary.js';
import { silentLogger } from '../src/logger.js';
import { snapshotPaperBatches, validateSnapshot } from '../src/papers/formats/arxivSnapshot.js';
import { readPdf } from '../src/papers/pdf.js';
import { readPdfPaper } from '../src/papers/pdfPaper.js';
import { makePaperPdf, SAMPLE_PAPER } from './support/pdfFixtures.js';
import type { Benchmark } from './benchmark.js';

const WORDS =
  'model token attention layer sequence retrieval language training data benchmark transformer context reasoning'.split(
    ' ',
  );

/** A synthetic arXiv snapshot: `records` lines shaped like the real file, half of them cs.* . */
async function writeSnapshot(file: string, records: number): Promise<void> {
  const out = createWriteStream(file);
  for (let index = 0; index < records; index += 1) {
    const words = Array.from({ length: 120 }, (_, word) => WORDS[(index * 7 + word * 3) % WORDS.length]).join(' ');
    const line = JSON.stringify({
      id: `2501.${String(index).padStart(5, '0')}`,
      authors: 'Ada Lovelace, Alan Turing',
      title: `Synthetic paper ${index} on ${WORDS[index % WORDS.length]}`,
      categories: index % 2 === 0 ? 'cs.CL cs.LG' : 'math.GT',
      abstract: `${words}.`,
      versions: [{ version: 'v1', created: 'Wed, 1 Jan 2025 10:00:00 GMT' }],
      update_date: '2025-01-02',
      authors_parsed: [
        ['Lovelace', 'Ada', ''],
        ['Turing', 'Alan', ''],
      ],
    });
    if (!out.write(`${line}\n`)) await once(out, 'drain');
  }
  out.end();
  await once(out, 'finish');
}

/**
 * Intake throughput, side by side in one run: the snapshot's validation pass against the full ingest (parse,
 * embed with the offline embedder, index, commit), and reading a PDF's first pages for metadata against reading it
 * whole (what full-text work will do).
 */
export const intakeBenchmark: Benchmark = {
  name: 'intake',
  summary: 'arXiv snapshot: validation pass vs full ingest (records/s, RSS); PDF: metadata pages vs whole document',
  async run(args) {
    const { values } = parseCommandArgs(args, {
      records: { type: 'string' },
      pages: { type: 'string' },
      batch: { type: 'string' },
    });
    const records = parseCount(values.records, '--records', 20_000, 2_000_000);
    const sections = parseCount(values.pages, '--pages', 30, 500);
    const batchSize = parseCount(values.batch, '--batch', 2_000, 100_000);
    const dir = await mkdtemp(path.join(os.tmpdir(), 'papercord-bench-intake-'));
    try {
      const file = path.join(dir, 'arxiv-metadata-oai-snapshot.json');
      await writeSnapshot(file, records);
      const megabytes = (await stat(file)).size / 1_048_576;

      let started = performance.now();
      const summary = await validateSnapshot(file, { category: 'cs.' });
      const validateSeconds = (performance.now() - started) / 1000;
      const rssAfterValidate = process.memoryUsage().rss;

      const config = loadConfig({ DATA_DIR: dir, EMBEDDINGS: 'hashing', LOG_LEVEL: 'silent' });
      const logger = silentLogger();
      const embedder = await createEmbedder(config, logger);
      const library = await PaperLibrary.open({ dataDir: dir, embedder, logger });
      let peakRss = process.memoryUsage().rss;
      started = performance.now();
      for await (const batch of snapshotPaperBatches(file, { category: 'cs.', batchSize })) {
        await library.add(batch);
        peakRss = Math.max(peakRss, process.memoryUsage().rss);
      }
      const ingestSeconds = (performance.now() - started) / 1000;
      await library.close();
      await embedder.close();

      const pdf = await makePaperPdf({
        ...SAMPLE_PAPER,
        sections: Array.from({ length: sections }, (_, index) => ({
          heading: `${index + 1} Section`,
          paragraphs: Array.from({ length: 6 }, () => SAMPLE_PAPER.abstract),
        })),
      });
      const rounds = 5;
      started = performance.now();
      let pageCount = 0;
      for (let round = 0; round < rounds; round += 1) pageCount = (await readPdf(pdf)).pageCount;
      const wholeMs = (performance.now() - started) / rounds;
      started = performance.now();
      for (let round = 0; round < rounds; round += 1) await readPdfPaper(pdf);
      const metadataMs = (performance.now() - started) / rounds;

      const mb = (bytes: number) => `${Math.round(bytes / 1_048_576)} MB`;
      process.stdout.write(
        [
          `snapshot: ${records} records, ${megabytes.toFixed(1)} MB, ${summary.matching} in cs.`,
          `  validation pass  ${validateSeconds.toFixed(2)} s  ${(records / validateSeconds).toFixed(0)} records/s  ${(megabytes / validateSeconds).toFixed(1)} MB/s  RSS ${mb(rssAfterValidate)}`,
          `  full ingest      ${ingestSeconds.toFixed(2)} s  ${(summary.matching / ingestSeconds).toFixed(0)} papers/s added in batches of ${batchSize}  peak RSS ${mb(peakRss)}`,
          `  ingest / validation time: ${(ingestSeconds / validateSeconds).toFixed(1)}x`,
          `pdf: ${pageCount} pages, ${(pdf.byteLength / 1024).toFixed(0)} KB`,
          `  whole document   ${wholeMs.toFixed(1)} ms`,
          `  metadata (2 pages) ${metadataMs.toFixed(1)} ms  (${(wholeMs / metadataMs).toFixed(1)}x faster)`,
        ].join('\n') + '\n',
      );
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  },
};
