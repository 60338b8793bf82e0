import { readFile } from 'node:fs/promises';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

export const FIXTURES = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../fixtures');

/** A canned answer: a status, headers and a body, or `destroy` to drop the connection mid-request. */
export interface CannedResponse {
  status?: number;
  headers?: Record<string, string>;
  body?: string;
  destroy?: boolean;
}

/**
 * Loopback stand-in for huggingface.co and export.arxiv.org, serving the fixtures in the documented shapes:
 * `/api/daily_papers?date=D` answers `hf/daily_papers_<D>.json` (an empty array for other days), `/api/query`
 * answers `arxiv/query.xml`. Queued responses (`failNext`) are served first, to script outages.
 */
export class FeedServer {
  readonly requests: URL[] = [];
  private readonly queued: CannedResponse[] = [];
  private readonly overrides = new Map<string, string>();

  private constructor(
    private readonly server: Server,
    readonly baseUrl: string,
  ) {}

  static async start(): Promise<FeedServer> {
    const server = createServer((request, response) => void feed.handle(request, response));
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as AddressInfo;
    const feed = new FeedServer(server, `http://127.0.0.1:${port}`);
    return feed;
  }

  /** The next requests get these answers, in order. */
  failNext(...responses: CannedResponse[]): void {
    this.queued.push(...responses);
  }

  /** Serve this body for the daily papers of `date` instead of the fixture. */
  setDay(date: string, body: string): void {
    this.overrides.set(date, body);
  }

  private async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', this.baseUrl);
    this.requests.push(url);
    const canned = this.queued.shift();
    if (canned?.destroy) return void request.socket.destroy();
    if (canned) {
      response.writeHead(canned.status ?? 200, canned.headers ?? {});
      return void response.end(canned.body ?? '');
    }
    if (url.pathname === '/api/daily_papers') {
      const date = url.searchParams.get('date') ?? '';
      const body =
        this.overrides.get(date) ??
        (await readFile(path.join(FIXTURES, 'hf', `daily_papers_${date}.json`), 'utf8').catch(() => '[]'));
      response.writeHead(200, { 'content-type': 'application/json' });
      return void response.end(body);
    }
    if (url.pathname === '/api/query') {
      response.writeHead(200, { 'content-type': 'application/atom+xml; charset=utf-8' });
      return void response.end(await readFile(path.join(FIXTURES, 'arxiv', 'query.xml'), 'utf8'));
    }
    response.writeHead(404).end('not found');
  }

  async close(): Promise<void> {
    this.server.closeAllConnections();
    await new Promise<void>((resolve) => this.server.close(() => resolve()));
  }
}
