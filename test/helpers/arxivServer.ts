import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/** A paper as the stand-in arXiv knows it. */
export interface ArxivRecord {
  id: string;
  title: string;
  abstract: string;
  authors: string[];
  /** ISO timestamp of the first version (`<published>`). */
  published: string;
  category?: string;
  /** Hugging Face's page of it; absent → `/api/papers/{id}` answers 404. */
  hf?: { upvotes: number; ai_summary?: string };
}

export interface CannedResponse {
  status: number;
  headers?: Record<string, string>;
  body?: string;
}

const escapeXml = (text: string) => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

function entryXml(record: ArxivRecord): string {
  const category = record.category ?? 'cs.CL';
  return `  <entry>
    <id>http://arxiv.org/abs/${record.id}v1</id>
    <title>${escapeXml(record.title)}</title>
    <updated>${record.published}</updated>
    <link href="https://arxiv.org/abs/${record.id}v1" rel="alternate" type="text/html"/>
    <summary>${escapeXml(record.abstract)}</summary>
    <category term="${category}" scheme="http://arxiv.org/schemas/atom"/>
    <published>${record.published}</published>
    <arxiv:primary_category term="${category}"/>
${record.authors.map((name) => `    <author><name>${escapeXml(name)}</name></author>`).join('\n')}
  </entry>`;
}

function feedXml(records: ArxivRecord[], totalResults: number, start: number): string {
  return `<?xml version="1.0" encoding="UTF-8"?>
<feed xmlns="http://www.w3.org/2005/Atom" xmlns:opensearch="http://a9.com/-/spec/opensearch/1.1/" xmlns:arxiv="http://arxiv.org/schemas/atom">
  <id>https://arxiv.org/api/stand-in</id>
  <title>arXiv Query</title>
  <updated>2025-07-29T00:00:00Z</updated>
  <opensearch:itemsPerPage>${records.length}</opensearch:itemsPerPage>
  <opensearch:totalResults>${totalResults}</opensearch:totalResults>
  <opensearch:startIndex>${start}</opensearch:startIndex>
${records.map(entryXml).join('\n')}
</feed>
`;
}

/** `YYYYMMDDHHMM` of the arXiv API's submittedDate ranges → epoch ms. */
function compactDate(value: string): number {
  const match = /^(\d{4})(\d{2})(\d{2})(\d{2})(\d{2})$/.exec(value);
  if (!match) return Number.NaN;
  return Date.UTC(
    Number(match[1]),
    Number(match[2]) - 1,
    Number(match[3]),
    Number(match[4]),
    Number(match[5]),
    59,
    999,
  );
}

/**
 * Loopback stand-in for the arXiv API and Hugging Face's paper pages, both on one port (point ARXIV_API_BASE and
 * HF_API_BASE at `baseUrl`): `id_list` lookups, `cat:X AND submittedDate:[A TO B]` searches paged by `start` and
 * `max_results` in submission order, and `/api/papers/{id}`. `failNext` scripts outages (503, 429).
 */
export class ArxivStandIn {
  readonly requests: URL[] = [];
  /** When each API request (`/api/query`) arrived, in epoch milliseconds. */
  readonly apiRequestTimes: number[] = [];
  readonly records = new Map<string, ArxivRecord>();
  private readonly queued: CannedResponse[] = [];

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(records: ArxivRecord[] = []): Promise<ArxivStandIn> {
    const server = createServer((request, response) => standIn.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const standIn = new ArxivStandIn(server, `http://127.0.0.1:${port}`);
    for (const record of records) standIn.records.set(record.id, record);
    return standIn;
  }

  /** The next requests to the arXiv API get these answers, in order. */
  failNext(...responses: CannedResponse[]): void {
    this.queued.push(...responses);
  }

  /** The next requests to the arXiv API that match get these answers, in order; others are served normally. */
  failMatching(match: (url: URL) => boolean, ...responses: CannedResponse[]): void {
    this.rules.push({ match, responses: [...responses] });
  }

  private gate: Promise<void> | undefined;

  /** Holds every arXiv API request until the returned function is called (to observe what happens meanwhile). */
  hold(): () => void {
    let release!: () => void;
    this.gate = new Promise<void>((resolve) => (release = resolve));
    return () => {
      this.gate = undefined;
      release();
    };
  }

  private readonly rules: Array<{ match: (url: URL) => boolean; responses: CannedResponse[] }> = [];

  get apiRequests(): URL[] {
    return this.requests.filter((url) => url.pathname === '/api/query');
  }

  private handle(request: IncomingMessage, response: ServerResponse): void {
    const url = new URL(request.url ?? '/', this.baseUrl);
    if (this.gate && url.pathname === '/api/query') {
      void this.gate.then(() => this.handle(request, response));
      return;
    }
    this.requests.push(url);
    if (url.pathname === '/api/query') this.apiRequestTimes.push(Date.now());
    const hfMatch = /^\/api\/papers\/(.+)$/.exec(url.pathname);
    if (hfMatch) {
      const record = this.records.get(decodeURIComponent(hfMatch[1]!));
      if (!record?.hf)
        return void response.writeHead(404, { 'content-type': 'application/json' }).end('{"error":"Not Found"}');
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end(
        JSON.stringify({
          id: record.id,
          title: record.title,
          summary: record.abstract,
          upvotes: record.hf.upvotes,
          ai_summary: record.hf.ai_summary,
        }),
      );
    }
    if (url.pathname !== '/api/query') return void response.writeHead(404).end('not found');
    const canned =
      this.queued.shift() ?? this.rules.find((rule) => rule.responses.length > 0 && rule.match(url))?.responses.shift();
    if (canned) return void response.writeHead(canned.status, canned.headers ?? {}).end(canned.body ?? '');

    const idList = url.searchParams.get('id_list');
    const start = Number(url.searchParams.get('start') ?? 0);
    const max = Number(url.searchParams.get('max_results') ?? 10);
    let matching: ArxivRecord[];
    if (idList) {
      matching = idList.split(',').flatMap((id) => {
        const record = this.records.get(id.replace(/v\d+$/, ''));
        return record ? [record] : [];
      });
    } else {
      const query = url.searchParams.get('search_query') ?? '';
      const category = /cat:(\S+)/.exec(query)?.[1];
      const range = /submittedDate:\[(\d{12}) TO (\d{12})\]/.exec(query);
      const from = range ? compactDate(range[1]!) - 59_999 : Number.NEGATIVE_INFINITY;
      const to = range ? compactDate(range[2]!) : Number.POSITIVE_INFINITY;
      matching = [...this.records.values()]
        .filter((record) => !category || (record.category ?? 'cs.CL') === category)
        .filter((record) => Date.parse(record.published) >= from && Date.parse(record.published) <= to)
        .sort((a, b) => Date.parse(a.published) - Date.parse(b.published) || a.id.localeCompare(b.id));
    }
    const page = idList ? matching : matching.slice(start, start + max);
    response.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8' });
    response.end(feedXml(page, matching.length, start));
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}

/** A port nothing listens on: what an unreachable service looks like. */
export async function closedPortUrl(): Promise<string> {
  const server = createServer();
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;
  await new Promise<void>((resolve) => server.close(() => resolve()));
  return `http://127.0.0.1:${port}`;
}

export const SAMPLE_RECORDS: ArxivRecord[] = [
  {
    id: '2410.20771',
    title: 'MrT5: Dynamic Token Merging for Efficient Byte-level Language Models',
    abstract:
      'Models that rely on subword tokenization have significant drawbacks. Byte-level models avoid them but process much ' +
      'longer sequences. MrT5 learns to delete tokens dynamically in its encoder, shortening sequences by up to 75 percent.',
    authors: ['Julie Kallini', 'Shikhar Murty', 'Christopher D. Manning', 'Christopher Potts', 'Róbert Csordás'],
    published: '2024-10-28T00:00:00Z',
    hf: { upvotes: 12, ai_summary: 'MrT5 merges byte tokens on the fly.' },
  },
  {
    id: '2507.10524',
    title: 'A Second Sample Paper on Recursive Depth',
    abstract:
      'We give each token its own number of passes through a shared stack of layers and save compute on easy tokens.',
    authors: ['Ada Lovelace', 'Alan Turing'],
    published: '2025-07-14T00:00:00Z',
  },
  {
    id: 'cs/0601001',
    title: 'An Old-Style Identifier Paper',
    abstract: 'Papers from before 2007 have identifiers made of an archive name and a number; we keep reading them.',
    authors: ['Grace Hopper'],
    published: '2006-01-01T00:00:00Z',
    category: 'cs.DS',
  },
];
