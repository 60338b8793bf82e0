import { mkdtemp, rm, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { ArxivServer, fixturePapers, ingestJson, renderLatexml } from '../../bench/support/arxivServer.js';
import { CitationStandIn, type StandInPaper } from '../helpers/citationServer.js';
import { runPapercord } from '../support/cli.js';

interface GraphJson {
  id: string;
  title: string;
  references: Array<{ id: string; title: string; year: number | null; in_library: boolean }>;
  citations: Array<{ id: string; title: string; year: number | null; in_library: boolean }>;
}

const [SMA, CURDIST, ROWPRUNE] = fixturePapers();

/** SMA-ASR as Semantic Scholar knows it: it cites CurDist (in the library) and a paper that is not. */
const SMA_IN_S2: StandInPaper = {
  arxivId: SMA!.arxivId,
  title: SMA!.title,
  year: 2025,
  citationCount: 2,
  references: [
    { title: CURDIST!.title, arxivId: CURDIST!.arxivId, year: 2025, citationCount: 12 },
    { title: 'Attention Is All You Need', arxivId: '1706.03762', year: 2017, citationCount: 150_000 },
    { title: 'A Journal Paper Without an arXiv Id', s2Id: 'abc123def4560000000000000000000000000000', year: 2019 },
  ],
  citations: [
    { title: ROWPRUNE!.title, arxivId: ROWPRUNE!.arxivId, year: 2025, citationCount: 0 },
    { title: 'Sparse Adapters Revisited', arxivId: '2601.00042', year: 2026, citationCount: 1 },
  ],
};

const SECRET_KEY = 's2-key-that-must-never-be-printed';

describe('papercord graph', () => {
  let citations: CitationStandIn;
  let arxiv: ArxivServer;
  let dir: string;
  let env: Record<string, string>;
  let papers: string;

  beforeAll(async () => {
    citations = await CitationStandIn.start();
    arxiv = await ArxivServer.start(fixturePapers());
    dir = await mkdtemp(path.join(tmpdir(), 'papercord-graph-'));
    papers = path.join(dir, 'papers.json');
    await writeFile(papers, ingestJson(fixturePapers()));
  });

  afterAll(async () => {
    await citations?.close();
    await arxiv?.close();
    await rm(dir, { recursive: true, force: true });
  });

  /** A fresh data directory with the fixture library, and both services pointed at the stand-in. */
  beforeEach(async (context) => {
    citations.s2.clear();
    citations.openAlex.clear();
    citations.down.clear();
    citations.requests.length = 0;
    citations.headers.length = 0;
    env = {
      DATA_DIR: path.join(dir, context.task.id),
      S2_API_BASE: citations.baseUrl,
      OPENALEX_API_BASE: citations.baseUrl,
      S2_REQUEST_INTERVAL_MS: '0',
      S2_API_KEY: SECRET_KEY,
      ARXIV_API_BASE: arxiv.baseUrl,
      ARXIV_HTML_BASE: arxiv.htmlBase,
      ARXIV_PDF_BASE: arxiv.pdfBase,
      ARXIV_REQUEST_INTERVAL_MS: '0',
    };
    const ingest = await runPapercord(['ingest', '--source', papers], env);
    expect(ingest.code, ingest.stderr).toBe(0);
  });

  it('given Semantic Scholar knows the paper, it should list references and citations with in_library right', async () => {
    citations.addS2(SMA_IN_S2);
    const run = await runPapercord(['graph', SMA!.arxivId, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const graph = JSON.parse(run.stdout) as GraphJson;
    expect(graph).toMatchObject({ id: SMA!.arxivId, title: SMA!.title });
    expect(graph.references).toEqual([
      { id: CURDIST!.arxivId, title: CURDIST!.title, year: 2025, in_library: true },
      { id: '1706.03762', title: 'Attention Is All You Need', year: 2017, in_library: false },
      {
        id: 's2:abc123def4560000000000000000000000000000',
        title: 'A Journal Paper Without an arXiv Id',
        year: 2019,
        in_library: false,
      },
    ]);
    expect(graph.citations).toEqual([
      { id: ROWPRUNE!.arxivId, title: ROWPRUNE!.title, year: 2025, in_library: true },
      { id: '2601.00042', title: 'Sparse Adapters Revisited', year: 2026, in_library: false },
    ]);
    expect(citations.requests[0]).toMatch(new RegExp(`^/graph/v1/paper/arXiv:${SMA!.arxivId}\\?fields=`));
    expect(citations.requests).toContainEqual(expect.stringMatching(/\/references\?fields=title,year,externalIds/));
    expect(citations.headers.every((headers) => headers['x-api-key'] === SECRET_KEY)).toBe(true);
    expect(run.stdout + run.stderr).not.toContain(SECRET_KEY);
  });

  it('given a text report, it should mark the papers in the library and show the counts', async () => {
    citations.addS2(SMA_IN_S2);
    const run = await runPapercord(['graph', 'SMA-ASR'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(run.stdout).toContain('3 references, 2 citations (Semantic Scholar');
    expect(run.stdout).toMatch(new RegExp(`✓ ${CURDIST!.arxivId.replace('.', '\\.')}\\s+CurDist`));
    // Most cited first.
    expect(run.stdout.indexOf('Attention Is All You Need')).toBeLessThan(run.stdout.indexOf('CurDist'));
  });

  it('given a 429 with Retry-After, it should wait and retry, then answer', async () => {
    citations.addS2(SMA_IN_S2);
    citations.script({ status: 429, headers: { 'retry-after': '0' }, body: '{"message":"Too Many Requests"}' });
    const run = await runPapercord(['graph', SMA!.arxivId, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as GraphJson).references).toHaveLength(3);
    const paperRequests = citations.requests.filter((request) => /arXiv:2502\.11001\?/.test(request));
    expect(paperRequests).toHaveLength(2);
  });

  it('given Semantic Scholar failing, it should fall back to OpenAlex', async () => {
    citations.down.set('s2', 503);
    citations.addOpenAlex({ ...SMA_IN_S2, references: SMA_IN_S2.references.slice(0, 2) });
    const run = await runPapercord(['graph', SMA!.arxivId, '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    const graph = JSON.parse(run.stdout) as GraphJson;
    expect(graph.references).toEqual([
      { id: CURDIST!.arxivId, title: CURDIST!.title, year: 2025, in_library: true },
      { id: '1706.03762', title: 'Attention Is All You Need', year: 2017, in_library: false },
    ]);
    expect(graph.citations.map((paper) => paper.in_library)).toEqual([true, false]);
    expect(citations.requests).toContainEqual(expect.stringMatching(/^\/works\/doi:10\.48550\/arXiv\.2502\.11001/));
    expect(citations.requests).toContainEqual(expect.stringMatching(/filter=cites:W\d+/));
  }, 30_000);

  it('given a paper neither service knows, it should print empty lists and say so', async () => {
    const run = await runPapercord(['graph', '2502.11004', '--json'], env);
    expect(run.code, run.stderr).toBe(0);
    expect(JSON.parse(run.stdout)).toMatchObject({ id: '2502.11004', references: [], citations: [] });
    expect(run.stderr).toContain('Semantic Scholar and OpenAlex do not know this paper');
  });

  it('given both services down and nothing cached, it should say so in one line and exit 1', async () => {
    citations.down.set('s2', 503);
    // Nothing listens on port 2 (port 1 is one fetch refuses to call): OpenAlex is unreachable rather than failing.
    const run = await runPapercord(['graph', SMA!.arxivId, '--json'], {
      ...env,
      OPENALEX_API_BASE: 'http://127.0.0.1:2',
    });
    expect(run.code).toBe(1);
    expect(run.stdout).toBe('');
    expect(run.stderr.trim().split('\n')).toHaveLength(1);
    expect(run.stderr).toMatch(
      /no references or citations for .*SMA-ASR.*Semantic Scholar: .*HTTP 503.*OpenAlex: .*ECONNREFUSED.*nothing is cached/,
    );
  }, 60_000);

  it('given a cached graph, it should answer from the cache while fresh, and with a note when the services are down', async () => {
    citations.addS2(SMA_IN_S2);
    const first = await runPapercord(['graph', SMA!.arxivId, '--json'], env);
    expect(first.code, first.stderr).toBe(0);
    const asked = citations.requests.length;

    const fresh = await runPapercord(['graph', SMA!.arxivId, '--json'], env);
    expect(fresh.stdout).toBe(first.stdout);
    expect(citations.requests).toHaveLength(asked);

    citations.down.set('s2', 503);
    citations.down.set('openalex', 503);
    const stale = await runPapercord(['graph', SMA!.arxivId, '--json', '--refresh'], env);
    expect(stale.code, stale.stderr).toBe(0);
    expect(stale.stdout).toBe(first.stdout);
    expect(stale.stderr).toMatch(/note: .*HTTP 503.*showing what was fetched on \d{4}-\d{2}-\d{2}/);
  }, 60_000);

  it("given a stored full text, it should add the works of the paper's bibliography that the service lacks", async () => {
    const html = renderLatexml(SMA!).replace(
      /<section id="bib" class="ltx_bibliography">[\s\S]*?<\/section>/,
      `<section id="bib" class="ltx_bibliography"><h2 class="ltx_title ltx_title_bibliography">References</h2><ul class="ltx_biblist">
<li id="bib.bib1" class="ltx_bibitem"><span class="ltx_tag ltx_tag_bibitem">[1]</span><span class="ltx_bibblock">Ana Lopez and Bo Chen.</span><span class="ltx_bibblock">Curriculum distillation for small code models.</span><span class="ltx_bibblock"><em>arXiv preprint arXiv:${CURDIST!.arxivId}</em>, 2025.</span></li>
<li id="bib.bib2" class="ltx_bibitem"><span class="ltx_tag ltx_tag_bibitem">[2]</span><span class="ltx_bibblock">Jan Novak.</span><span class="ltx_bibblock">Speech adapters at scale.</span><span class="ltx_bibblock">In <em>Proceedings of Interspeech</em>, 2024.</span></li>
</ul></section>`,
    );
    arxiv.addPaper(SMA!, { html });
    const withFullText = { ...env, FULL_TEXT: 'on' };
    const fetched = await runPapercord(['fulltext', SMA!.arxivId], withFullText);
    expect(fetched.code, fetched.stderr).toBe(0);
    citations.addS2({ ...SMA_IN_S2, references: SMA_IN_S2.references.slice(1, 2) });

    const run = await runPapercord(['graph', SMA!.arxivId, '--json'], withFullText);
    expect(run.code, run.stderr).toBe(0);
    expect((JSON.parse(run.stdout) as GraphJson).references).toEqual([
      { id: '1706.03762', title: 'Attention Is All You Need', year: 2017, in_library: false },
      { id: CURDIST!.arxivId, title: 'Curriculum distillation for small code models', year: null, in_library: true },
      { id: 'bib:2', title: 'Speech adapters at scale', year: null, in_library: false },
    ]);
  });
});
