import { definedOnly } from '../util/options.js';
import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Registry } from 'prom-client';
import { describeError } from '../errors.js';
import { silentLogger, type Logger } from '../logger.js';

/** Paths the Dockerfile HEALTHCHECK and Prometheus use; part of the deployment contract. */
export const HEALTHZ_PATH = '/healthz';
export const METRICS_PATH = '/metrics';

/**
 * One yes/no condition for being healthy, e.g. `gateway: () => client.isReady()`. A check that throws or hangs
 * past `checkTimeoutMs` counts as failing.
 */
export type HealthCheck = () => boolean | Promise<boolean>;

export interface HealthServerOptions {
  /** 0 picks a free port (tests); the bound port is `HealthServer.port`. */
  port: number;
  registry: Registry;
  /** Every check must pass for 200; the bot passes `gateway` and `library`. */
  checks: Readonly<Record<string, HealthCheck>>;
  /** Reported in the /healthz body, not a condition. */
  paperCount?: () => number | Promise<number>;
  host?: string;
  checkTimeoutMs?: number;
  logger?: Logger;
}

export const DEFAULT_HEALTH_SERVER_OPTIONS = Object.freeze({
  host: '127.0.0.1',
  checkTimeoutMs: 2_000,
});

export interface HealthBody {
  status: 'ok' | 'unavailable';
  /** Names of the checks that did not pass; empty when healthy. */
  failing: string[];
  papers?: number;
  /** One boolean per check, e.g. `gateway: true, library: false`. */
  [check: string]: boolean | number | string | string[] | undefined;
}

export interface HealthServer {
  readonly port: number;
  /** e.g. `http://127.0.0.1:8080`. */
  readonly url: string;
  close(): Promise<void>;
}

/** Serves `/healthz` (200 or 503 with the failing checks) and `/metrics` (Prometheus text) on node:http. */
export async function startHealthServer(options: HealthServerOptions): Promise<HealthServer> {
  const settings = { ...DEFAULT_HEALTH_SERVER_OPTIONS, logger: silentLogger(), ...definedOnly(options) };
  const { registry, logger } = settings;

  const handle = async (request: IncomingMessage, response: ServerResponse): Promise<void> => {
    const path = new URL(request.url ?? '/', 'http://health.invalid').pathname;
    if (path !== HEALTHZ_PATH && path !== METRICS_PATH) return send(response, 404, 'text/plain', 'not found\n');
    if (request.method !== 'GET' && request.method !== 'HEAD') {
      response.setHeader('allow', 'GET, HEAD');
      return send(response, 405, 'text/plain', 'method not allowed\n');
    }
    if (path === METRICS_PATH) return send(response, 200, registry.contentType, await registry.metrics());

    const body = await evaluate(settings.checks, settings.paperCount, settings.checkTimeoutMs, logger);
    send(response, body.status === 'ok' ? 200 : 503, 'application/json', `${JSON.stringify(body)}\n`);
  };

  const server = createServer((request, response) => {
    handle(request, response).catch((error: unknown) => {
      logger.error({ err: describeError(error), url: request.url }, 'health server request failed');
      if (!response.headersSent) send(response, 500, 'text/plain', 'internal error\n');
      else response.destroy();
    });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(settings.port, settings.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  const { port } = server.address() as AddressInfo;
  const url = `http://${settings.host.includes(':') ? `[${settings.host}]` : settings.host}:${port}`;
  logger.info({ port, host: settings.host }, `health and metrics on ${url}${HEALTHZ_PATH} and ${METRICS_PATH}`);

  return {
    port,
    url,
    close: () =>
      new Promise<void>((resolve, reject) => {
        // Scrapers keep connections alive; without this close() would wait for them to time out.
        server.closeAllConnections();
        server.close((error) => (error ? reject(error) : resolve()));
      }),
  };
}

async function evaluate(
  checks: Readonly<Record<string, HealthCheck>>,
  paperCount: (() => number | Promise<number>) | undefined,
  timeoutMs: number,
  logger: Logger,
): Promise<HealthBody> {
  const names = Object.keys(checks);
  const results = await Promise.all(
    names.map(async (name) => {
      try {
        return (await withTimeout(Promise.resolve(checks[name]!()), timeoutMs)) === true;
      } catch (error) {
        logger.warn({ check: name, err: describeError(error) }, 'health check failed');
        return false;
      }
    }),
  );
  const failing = names.filter((_, index) => !results[index]);
  const body: HealthBody = { status: failing.length === 0 ? 'ok' : 'unavailable', failing };
  names.forEach((name, index) => {
    body[name] = results[index];
  });
  if (paperCount) {
    try {
      body.papers = await withTimeout(Promise.resolve(paperCount()), timeoutMs);
    } catch (error) {
      logger.warn({ err: describeError(error) }, 'paper count for /healthz failed');
    }
  }
  return body;
}

function withTimeout<T>(promise: Promise<T>, timeoutMs: number): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new Error(`no answer within ${timeoutMs} ms`)), timeoutMs);
  });
  return Promise.race([promise, timeout]).finally(() => clearTimeout(timer));
}

function send(response: ServerResponse, status: number, contentType: string, body: string): void {
  response.writeHead(status, { 'content-type': contentType, 'cache-control': 'no-store' });
  response.end(response.req.method === 'HEAD' ? undefined : body);
}
