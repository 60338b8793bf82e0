import { createServer, type IncomingHttpHeaders, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * Loopback stand-ins for the Semantic Scholar Graph API and OpenAlex, on one port (point S2_API_BASE and
 * OPENALEX_API_BASE at `baseUrl`). Bodies follow the public documentation's shapes:
 *
 * - `GET /graph/v1/paper/arXiv:{id}?fields=…` → `{paperId, externalIds: {ArXiv, DOI, CorpusId}, title, year,
 *   citationCount, referenceCount}`; an unknown paper is `404 {"error": "Paper with id arXiv:… not found"}`.
 * - `…/references` → `{offset, data: [{citedPaper: {…}}]}`; `…/citations` → `{offset, data: [{citingPaper: {…}}]}`.
 * - `GET /works/doi:10.48550/arXiv.{id}` → a Work (`id` as `https://openalex.org/W…`, `doi`, `title`,
 *   `display_name`, `publication_year`, `cited_by_count`, `referenced_works_count`, `ids`); unknown: 404.
 * - `GET /works?filter=cited_by:W…` (its references) and `filter=cites:W…` (its citations) → `{meta: {count}, results}`.
 */

/** A work as both services describe it. */
export interface StandInWork {
  title: string;
  year?: number;
  arxivId?: string;
  citationCount?: number;
  /** Semantic Scholar's 40-hex paper id; made up from the title when absent. */
  s2Id?: string;
  /** OpenAlex's `W…` id; made up when absent. */
  openAlexId?: string;
}

export interface StandInPaper extends StandInWork {
  arxivId: string;
  references: StandInWork[];
  citations: StandInWork[];
}

export interface ScriptedAnswer {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

let counter = 0;
const s2IdOf = (work: StandInWork) => work.s2Id ?? `${(++counter).toString(16).padStart(8, '0')}${'0'.repeat(32)}`;
const openAlexIdOf = (work: StandInWork) => work.openAlexId ?? `W${4_000_000_000 + ++counter}`;

function s2Record(work: StandInWork) {
  return {
    paperId: s2IdOf(work),
    externalIds: { ...(work.arxivId ? { ArXiv: work.arxivId } : {}), CorpusId: 1000 + counter },
    title: work.title,
    year: work.year ?? null,
    citationCount: work.citationCount ?? 0,
  };
}

function openAlexRecord(work: StandInWork & { references?: unknown[] }) {
  const doi = work.arxivId ? `https://doi.org/10.48550/arxiv.${work.arxivId}` : null;
  const id = `https://openalex.org/${openAlexIdOf(work)}`;
  return {
    id,
    doi,
    title: work.title,
    display_name: work.title,
    publication_year: work.year ?? null,
    cited_by_count: work.citationCount ?? 0,
    referenced_works_count: work.references?.length ?? 0,
    ids: { openalex: id, ...(doi ? { doi } : {}) },
  };
}

export class CitationStandIn {
  /** Path and query of every request, in order. */
  readonly requests: string[] = [];
  /** The headers of every request, in order. */
  readonly headers: IncomingHttpHeaders[] = [];
  readonly s2 = new Map<string, StandInPaper>();
  readonly openAlex = new Map<string, StandInPaper>();
  /** `s2` or `openalex` answers every request with this status while set (an outage). */
  readonly down = new Map<'s2' | 'openalex', number>();
  private readonly scripted: ScriptedAnswer[] = [];
  private readonly openAlexIds = new Map<string, StandInPaper>();

  private constructor(
    private readonly server: ReturnType<typeof createServer>,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<CitationStandIn> {
    const server = createServer((request, response) => standIn.answer(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const standIn = new CitationStandIn(server, `http://127.0.0.1:${port}`);
    return standIn;
  }

  addS2(paper: StandInPaper): void {
    this.s2.set(paper.arxivId, paper);
  }

  addOpenAlex(paper: StandInPaper): void {
    const id = openAlexIdOf(paper);
    const withId = { ...paper, openAlexId: id };
    this.openAlex.set(paper.arxivId, withId);
    this.openAlexIds.set(id, withId);
  }

  /** The next requests (of either service) get these answers, in order. */
  script(...answers: ScriptedAnswer[]): void {
    this.scripted.push(...answers);
  }

  close(): Promise<void> {
    this.server.closeAllConnections();
    return new Promise((resolve) => this.server.close(() => resolve()));
  }

  private answer(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.baseUrl);
    this.requests.push(decodeURIComponent(url.pathname) + url.search);
    this.headers.push(request.headers);
    const json = (status: number, body: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(body));
    };
    const scripted = this.scripted.shift();
    if (scripted) {
      response.writeHead(scripted.status, scripted.headers ?? {});
      return void response.end(scripted.body ?? '');
    }
    const pathname = decodeURIComponent(url.pathname);
    const s2 = /^\/graph\/v1\/paper\/arXiv:([^/]+)(?:\/(references|citations))?$/.exec(pathname);
    if (s2) {
      const outage = this.down.get('s2');
      if (outage) return json(outage, { message: 'Internal Server Error' });
      const paper = this.s2.get(s2[1]!);
      if (!paper) return json(404, { error: `Paper with id arXiv:${s2[1]} not found` });
      if (s2[2] === 'references')
        return json(200, { offset: 0, data: paper.references.map((work) => ({ citedPaper: s2Record(work) })) });
      if (s2[2] === 'citations')
        return json(200, { offset: 0, data: paper.citations.map((work) => ({ citingPaper: s2Record(work) })) });
      return json(200, { ...s2Record(paper), referenceCount: paper.references.length });
    }
    if (pathname.startsWith('/works')) {
      const outage = this.down.get('openalex');
      if (outage) return json(outage, { error: 'Service unavailable' });
      const single = /^\/works\/doi:10\.48550\/arXiv\.(.+)$/i.exec(pathname);
      if (single) {
        const paper = this.openAlex.get(single[1]!);
        if (!paper) return json(404, { error: 'Not Found', message: `doi:10.48550/arXiv.${single[1]} not found` });
        return json(200, openAlexRecord(paper));
      }
      const filter = /^(cited_by|cites):(W\d+)$/.exec(url.searchParams.get('filter') ?? '');
      const paper = filter ? this.openAlexIds.get(filter[2]!) : undefined;
      const works = paper ? (filter![1] === 'cited_by' ? paper.references : paper.citations) : [];
      return json(200, { meta: { count: works.length, page: 1, per_page: 200 }, results: works.map(openAlexRecord) });
    }
    json(404, { error: 'not found' });
  }
}
