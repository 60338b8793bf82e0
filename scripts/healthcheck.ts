/**
 * The image's HEALTHCHECK: asks `/healthz` on HEALTH_PORT and exits 0 only for a 200 within the timeout. Slim images
 * have no curl, and `docker inspect` shows what this prints (the failing checks, or why there was no answer).
 *
 *   node dist/scripts/healthcheck.js          (in the image)
 *   npx tsx scripts/healthcheck.ts            (from a checkout)
 *
 * A process whose event loop is stuck accepts the connection but never answers: the timeout turns that into a failure
 * before Docker's own `--timeout` kills the check.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { ConfigError, loadConfig, type Config } from '../src/config.js';
import { describeError } from '../src/errors.js';
import { HEALTHZ_PATH } from '../src/ops/health.js';

/** Below the Dockerfile's `HEALTHCHECK --timeout=5s`, so that the check reports why rather than being killed. */
export const HEALTHCHECK_TIMEOUT_MS = 4_000;

/** Where the health server of this configuration answers; a wildcard listen address is asked on loopback. */
export function healthzUrl(config: Pick<Config, 'HEALTH_HOST' | 'HEALTH_PORT'>): string | undefined {
  if (config.HEALTH_PORT === undefined) return undefined;
  const host = ['0.0.0.0', '::', '[::]'].includes(config.HEALTH_HOST) ? '127.0.0.1' : config.HEALTH_HOST;
  return `http://${host.includes(':') && !host.startsWith('[') ? `[${host}]` : host}:${config.HEALTH_PORT}${HEALTHZ_PATH}`;
}

/** 0 when healthy; otherwise 1, with one line saying why. */
export async function checkHealth(
  config: Pick<Config, 'HEALTH_HOST' | 'HEALTH_PORT'>,
  timeoutMs = HEALTHCHECK_TIMEOUT_MS,
): Promise<{ healthy: boolean; message: string }> {
  const url = healthzUrl(config);
  if (!url) return { healthy: false, message: 'HEALTH_PORT is not set, so nothing serves /healthz' };
  try {
    const response = await fetch(url, { signal: AbortSignal.timeout(timeoutMs) });
    const body = (await response.text()).trim();
    return { healthy: response.status === 200, message: `${response.status} ${body}` };
  } catch (error) {
    // fetch says "fetch failed"; its cause says why (ECONNREFUSED: nothing listens on HEALTH_PORT).
    const reason =
      error instanceof Error && error.name === 'TimeoutError'
        ? `no answer within ${timeoutMs} ms`
        : describeError(error instanceof Error && error.cause !== undefined ? error.cause : error);
    return { healthy: false, message: `${url}: ${reason}` };
  }
}

const isMain = process.argv[1] !== undefined && import.meta.url === pathToFileURL(resolve(process.argv[1])).href;
if (isMain) {
  let config: Config;
  try {
    config = loadConfig();
  } catch (error) {
    if (!(error instanceof ConfigError)) throw error;
    process.stderr.write(`healthcheck: ${error.message}\n`);
    process.exit(1);
  }
  const { healthy, message } = await checkHealth(config);
  (healthy ? process.stdout : process.stderr).write(`healthcheck: ${message}\n`);
  process.exit(healthy ? 0 : 1);
}
