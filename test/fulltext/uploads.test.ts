/**
 * Uploads never rewrite what the library holds: a PDF's own claims (the arXiv id stamped in its margin, its title)
 * never replace a paper's metadata, kept PDF or full text, and never create `arxiv:<id>` for an id arXiv does not know.
 */
import { existsSync } from 'node:fs';
import { mkdtemp, readFile, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { pdfPathFor } from '../../src/papers/pdfPaper.js';
import { makePaperPdf } from '../../bench/support/pdfFixtures.js';
import { runPapercord } from '../support/cli.js';
import { ArxivServer, fixturePapers, type FixturePaper } from '../../bench/support/arxivServer.js';

/** A paper arXiv has neither HTML nor a PDF for: only a kept upload can give its full text. */
const NO_BODY_ON_ARXIV: FixturePaper = {
  arxivId: '2502.13001',
  title: 'Ledger Attention: Bookkeeping Heads for Long Context Retrieval',
  authors: ['Mira Okafor'],
  abstract: 'Some attention heads keep a running ledger of where facts appeared; we find and reuse them for retrieval.',
  sections: [],
};

const FORGED_SECTION = { heading: '1 Results', paragraphs: ['The forged body says the answer is 424242 every time.'] };

let arxiv: ArxivServer;
let dir: string;
let env: Record<string, string>;
let known: FixturePaper;

beforeAll(async () => {
  known = fixturePapers()[0]!;
  arxiv = await ArxivServer.start([...fixturePapers(), NO_BODY_ON_ARXIV]);
  arxiv.addPaper(NO_BODY_ON_ARXIV, { html: false });
});
afterAll(async () => {
  await arxiv.close();
});
beforeEach(async () => {
  dir = await mkdtemp(path.join(tmpdir(), 'papercord-uploads-'));
  env = {
    DATA_DIR: path.join(dir, 'data'),
    ARXIV_API_BASE: arxiv.baseUrl,
    ARXIV_HTML_BASE: arxiv.htmlBase,
    ARXIV_PDF_BASE: arxiv.pdfBase,
    ARXIV_REQUEST_INTERVAL_MS: '0',
    FULL_TEXT: 'on',
  };
  return () => rm(dir, { recursive: true, force: true });
});

async function addJson(input: string) {
  const run = await runPapercord(['add', input, '--json'], env);
  return (JSON.parse(run.stdout) as Array<{ id: string | null; title: string | null; status: string }>)[0]!;
}

async function forgedPdf(stamp: string, title = 'A Forged Title That Should Never Appear'): Promise<string> {
  const file = path.join(dir, `forged-${stamp}.pdf`);
  await writeFile(
    file,
    await makePaperPdf({
      title,
      abstract: 'A forged abstract written by whoever uploaded this file, claiming to be another paper.',
      arxivStamp: `${stamp}v1`,
      sections: [FORGED_SECTION],
    }),
  );
  return file;
}

async function outline(name: string) {
  const run = await runPapercord(['fulltext', name, '--json'], env);
  expect(run.code, run.stderr).toBe(0);
  return JSON.parse(run.stdout) as { source: string; sections: Array<{ heading: string }> };
}

describe('PDF uploads', () => {
  it('given a paper already in the library, a PDF stamped with its id should find it present and change nothing', async () => {
    expect(await addJson(known.arxivId)).toMatchObject({ id: `arxiv:${known.arxivId}`, status: 'added' });
    const before = await outline(known.arxivId);

    const outcome = await addJson(await forgedPdf(known.arxivId));

    expect(outcome).toMatchObject({ id: `arxiv:${known.arxivId}`, title: known.title, status: 'present' });
    expect(existsSync(pdfPathFor(env.DATA_DIR!, `arxiv:${known.arxivId}`))).toBe(false);
    const search = await runPapercord(['search', known.title, '--json'], env);
    expect(JSON.parse(search.stdout)[0]).toMatchObject({ id: `arxiv:${known.arxivId}`, title: known.title });
    expect(await outline(known.arxivId)).toEqual(before);
  });

  it('given a PDF stamped with an id arXiv does not know, it should add a local paper under its own id', async () => {
    const outcome = await addJson(await forgedPdf('2412.99999', 'A Paper That Claims a Made Up Identifier'));

    expect(outcome.status).toBe('added');
    expect(outcome.id).not.toBe('arxiv:2412.99999');
    expect(outcome.id).toMatch(/^t:/);
    expect(outcome.title).toBe('A Paper That Claims a Made Up Identifier');
  });

  it('given a paper created from an upload stamped with a known id and its kept PDF damaged since, its full text should come from arXiv', async () => {
    const outcome = await addJson(await forgedPdf(known.arxivId));
    expect(outcome).toMatchObject({ id: `arxiv:${known.arxivId}`, title: known.title, status: 'added' });
    const kept = pdfPathFor(env.DATA_DIR!, `arxiv:${known.arxivId}`);
    await writeFile(kept, (await readFile(kept)).subarray(0, 300));

    const document = await outline(known.arxivId);

    expect(document.source).not.toBe('local-pdf');
    expect(document.sections.map((section) => section.heading)).not.toContain('1 Results');
  });

  it('given arXiv has no body for a paper, it should read the PDF kept from its upload', async () => {
    const upload = path.join(dir, 'ledger.pdf');
    await writeFile(
      upload,
      await makePaperPdf({
        title: NO_BODY_ON_ARXIV.title,
        abstract: NO_BODY_ON_ARXIV.abstract,
        arxivStamp: `${NO_BODY_ON_ARXIV.arxivId}v1`,
        sections: [{ heading: '1 Ledgers', paragraphs: ['Ledger heads appear in layers 9 to 12 of every model.'] }],
      }),
    );
    expect(await addJson(upload)).toMatchObject({ id: `arxiv:${NO_BODY_ON_ARXIV.arxivId}`, status: 'added' });

    expect((await outline(NO_BODY_ON_ARXIV.arxivId)).source).toBe('local-pdf');
  });
});
