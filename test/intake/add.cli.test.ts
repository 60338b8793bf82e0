import { mkdir, mkdtemp, readdir, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { runPapercord } from '../support/cli.js';
import { ArxivStandIn, closedPortUrl, SAMPLE_RECORDS } from '../helpers/arxivServer.js';
import { makeImageOnlyPdf, makePaperPdf, SAMPLE_PAPER } from '../../bench/support/pdfFixtures.js';

let arxiv: ArxivStandIn;
let dataDir: string;
let env: Record<string, string>;

beforeAll(async () => {
  arxiv = await ArxivStandIn.start(SAMPLE_RECORDS);
});
afterAll(async () => {
  await arxiv.close();
});
beforeEach(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-add-'));
  env = {
    DATA_DIR: dataDir,
    ARXIV_API_BASE: arxiv.baseUrl,
    HF_API_BASE: arxiv.baseUrl,
    ARXIV_REQUEST_INTERVAL_MS: '0',
  };
});
afterEach(async () => {
  await rm(dataDir, { recursive: true, force: true });
});

interface Row {
  input: string;
  id: string | null;
  title: string | null;
  status: string;
  message: string | null;
}

describe('papercord add', () => {
  it('given an id and a link to the same paper, it should add it once and report added then present, in one arXiv request', async () => {
    const run = await runPapercord(['add', '2410.20771', 'https://arxiv.org/abs/2410.20771v2', '--json'], env);

    expect(run.code).toBe(0);
    const rows = JSON.parse(run.stdout) as Row[];
    expect(rows).toEqual([
      { input: '2410.20771', id: 'arxiv:2410.20771', title: SAMPLE_RECORDS[0]!.title, status: 'added', message: null },
      {
        input: 'https://arxiv.org/abs/2410.20771v2',
        id: 'arxiv:2410.20771',
        title: SAMPLE_RECORDS[0]!.title,
        status: 'present',
        message: null,
      },
    ]);
    expect(arxiv.apiRequests.filter((url) => url.searchParams.get('id_list')?.includes('2410.20771'))).toHaveLength(1);

    const stats = JSON.parse((await runPapercord(['stats', '--json'], env)).stdout) as { papers: number };
    expect(stats.papers).toBe(1);
  });

  it('given a paper added earlier, it should report it present without asking arXiv again', async () => {
    await runPapercord(['add', 'arXiv:2507.10524'], env);
    const before = arxiv.apiRequests.length;

    const run = await runPapercord(['add', 'https://huggingface.co/papers/2507.10524', '--json'], env);

    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as Row[])[0]).toMatchObject({ id: 'arxiv:2507.10524', status: 'present' });
    expect(arxiv.apiRequests.length).toBe(before);
  });

  it('given an unknown id and a word that is no id, it should report not_found and error and exit 1, still adding the good one', async () => {
    const run = await runPapercord(['add', '2401.99999', 'hello', 'cs/0601001', '--json'], env);

    expect(run.code).toBe(1);
    const rows = JSON.parse(run.stdout) as Row[];
    expect(rows.map((row) => row.status)).toEqual(['not_found', 'error', 'added']);
    expect(rows[0]!.message).toBe('arXiv has no paper 2401.99999');
    expect(rows[1]!.message).toMatch(/not an arXiv id/);
    expect(rows[2]).toMatchObject({ id: 'arxiv:cs/0601001', title: 'An Old-Style Identifier Paper' });
  });

  it('given the arXiv API is down, it should report error naming arXiv, add nothing and exit 1', async () => {
    const down = await closedPortUrl();

    const run = await runPapercord(['add', '2410.20771', '--json'], {
      ...env,
      ARXIV_API_BASE: down,
      HF_API_BASE: down,
    });

    expect(run.code).toBe(1);
    const [row] = JSON.parse(run.stdout) as Row[];
    expect(row).toMatchObject({ input: '2410.20771', id: null, status: 'error' });
    expect(row!.message).toMatch(/^arXiv could not be reached \(.*ECONNREFUSED.*\); nothing was added/);
    const stats = JSON.parse((await runPapercord(['stats', '--json'], env)).stdout) as { papers: number };
    expect(stats.papers).toBe(0);
  });

  it('given arXiv answers 503 once, it should retry and add the paper', async () => {
    arxiv.failNext({ status: 503, headers: { 'retry-after': '0' }, body: 'slow down' });

    const run = await runPapercord(['add', '2410.20771', '--json'], env);

    expect(run.code).toBe(0);
    expect((JSON.parse(run.stdout) as Row[])[0]!.status).toBe('added');
  });

  it('given a PDF with an abstract, it should add it with its title and abstract and keep the file under DATA_DIR', async () => {
    const file = path.join(dataDir, 'routers.pdf');
    await writeFile(file, await makePaperPdf(SAMPLE_PAPER));

    const run = await runPapercord(['add', file, '--json'], env);

    expect(run.code).toBe(0);
    const [row] = JSON.parse(run.stdout) as Row[];
    expect(row).toMatchObject({ input: file, title: SAMPLE_PAPER.title, status: 'added', message: null });
    const search = JSON.parse(
      (await runPapercord(['search', 'sparse attention routers long documents', '--json'], env)).stdout,
    ) as Array<{ id: string }>;
    expect(search[0]!.id).toBe(row!.id);
    expect(await readdir(path.join(dataDir, 'pdfs'))).toEqual([`${row!.id!.replace(/[^A-Za-z0-9._-]/g, '_')}.pdf`]);
  });

  it('given kept PDFs at PDF_STORE_MAX_MB, it should refuse another PDF naming the limit, keep nothing and add nothing', async () => {
    await mkdir(path.join(dataDir, 'pdfs'), { recursive: true });
    await writeFile(path.join(dataDir, 'pdfs', 'arxiv_2401.00001.pdf'), new Uint8Array(1024 * 1024));
    const file = path.join(dataDir, 'routers.pdf');
    await writeFile(file, await makePaperPdf(SAMPLE_PAPER));

    const run = await runPapercord(['add', file, '--json'], { ...env, PDF_STORE_MAX_MB: '1' });

    expect(run.code).toBe(1);
    const [row] = JSON.parse(run.stdout) as Row[];
    expect(row).toMatchObject({ input: file, id: null, status: 'error' });
    expect(row!.message).toBe(
      `${file}: not added: the kept PDFs take 1.0 MB and the limit is 1 MB (PDF_STORE_MAX_MB); add the paper by its arXiv id, or ask whoever runs papercord to raise the limit`,
    );
    expect(await readdir(path.join(dataDir, 'pdfs'))).toEqual(['arxiv_2401.00001.pdf']);
    const withRoom = await runPapercord(['add', file, '--json'], { ...env, PDF_STORE_MAX_MB: '2' });
    expect((JSON.parse(withRoom.stdout) as Row[])[0]).toMatchObject({ title: SAMPLE_PAPER.title, status: 'added' });
  });

  it('given a PDF carrying an arXiv id, it should take the arXiv record, not the PDF text', async () => {
    const file = path.join(dataDir, 'mrt5.pdf');
    await writeFile(file, await makePaperPdf({ ...SAMPLE_PAPER, arxivStamp: '2410.20771v1' }));

    const run = await runPapercord(['add', file, '--json'], env);

    expect((JSON.parse(run.stdout) as Row[])[0]).toMatchObject({
      id: 'arxiv:2410.20771',
      title: SAMPLE_RECORDS[0]!.title,
      status: 'added',
    });
  });

  it('given a PDF without text and a missing file, it should refuse each with a clear message and exit 1', async () => {
    const scan = path.join(dataDir, 'scan.pdf');
    await writeFile(scan, await makeImageOnlyPdf());

    const run = await runPapercord(['add', scan, path.join(dataDir, 'missing.pdf')], env);

    expect(run.code).toBe(1);
    expect(run.stdout).toContain(`failed: ${scan}: ${scan} has no text layer (a scanned or image-only PDF)`);
    expect(run.stdout).toContain('missing.pdf: no such file');
    expect(run.stdout).toContain('0 added, 0 already in the library, 0 not found, 2 failed');
  });

  it('given no input, it should be a usage error', async () => {
    const run = await runPapercord(['add'], env);

    expect(run.code).toBe(2);
    expect(run.stderr).toContain('give at least one arXiv id');
  });
});
