import { resolve } from 'node:path';
import type { Config } from '../config.js';
import { describeError } from '../errors.js';

/**
 * Loading transformers.js models so that an offline machine never hangs.
 *
 * transformers.js 3.8 downloads with the global `fetch` and offers no hook to pass an AbortSignal or a timeout
 * (v4 adds `env.fetch`), and Node's fetch waits up to five minutes for response headers. So while a model loads,
 * requests to the model host go through `guardedFetch`: a request whose response has not started within
 * `MODEL_LOAD_TIMEOUT_MS`, or whose body stalls that long, is aborted with a clear message. Slow but moving
 * downloads are never cut off. Requests to any other host pass through untouched.
 *
 * Shared by every transformers.js model papercord loads (embedder, reranker).
 */

type TransformersModule = typeof import('@huggingface/transformers');

export interface ModelLoadSettings {
  allowRemoteModels: boolean;
  /** Where downloaded files are kept; also searched as a local model folder (`<dir>/<org>/<model>/…`). */
  cacheDir: string;
  /** Hub-compatible host, files at `<host>/<model>/resolve/<revision>/<file>`. */
  remoteHost: string;
  /** Longest wait for a download to start, or for the next bytes of one in progress. */
  stallTimeoutMs: number;
  /** A folder searched first for `<model id>/` directories; defaults to `cacheDir`. */
  localModelPath?: string;
  signal?: AbortSignal;
}

export function modelLoadSettings(
  config: Pick<Config, 'ALLOW_REMOTE_MODELS' | 'MODEL_CACHE_DIR' | 'MODEL_REMOTE_HOST' | 'MODEL_LOAD_TIMEOUT_MS'>,
  options: { localModelPath?: string; signal?: AbortSignal } = {},
): ModelLoadSettings {
  return {
    allowRemoteModels: config.ALLOW_REMOTE_MODELS,
    cacheDir: config.MODEL_CACHE_DIR,
    remoteHost: config.MODEL_REMOTE_HOST,
    stallTimeoutMs: config.MODEL_LOAD_TIMEOUT_MS,
    ...(options.localModelPath !== undefined ? { localModelPath: options.localModelPath } : {}),
    ...(options.signal !== undefined ? { signal: options.signal } : {}),
  };
}

export class ModelLoadError extends Error {
  override readonly name = 'ModelLoadError';
}

/**
 * Configures transformers.js from `settings` and runs `load` (typically `pipeline(...)`) with downloads guarded.
 * Rejects as soon as `settings.signal` aborts; a model that finishes loading after that is disposed.
 */
export async function loadTransformersModel<Model extends { dispose(): Promise<unknown> }>(
  settings: ModelLoadSettings,
  load: (transformers: TransformersModule) => Promise<Model>,
): Promise<Model> {
  settings.signal?.throwIfAborted();
  const transformers = await import('@huggingface/transformers');
  configureEnvironment(transformers, settings);

  const loadController = new AbortController();
  const stopOnCallerAbort = () => loadController.abort(settings.signal?.reason);
  settings.signal?.addEventListener('abort', stopOnCallerAbort, { once: true });
  const guard: DownloadGuard = {
    origin: new URL(settings.remoteHost).origin,
    prefix: `${settings.remoteHost.replace(/\/+$/, '')}/`,
    stallTimeoutMs: settings.stallTimeoutMs,
    signal: loadController.signal,
  };
  installGuard(guard);

  const loading = load(transformers);
  const aborted = new Promise<never>((_resolve, reject) => {
    loadController.signal.addEventListener('abort', () => reject(loadController.signal.reason), { once: true });
  });
  try {
    return await Promise.race([loading, aborted]);
  } catch (error) {
    loading.then((model) => model.dispose()).catch(() => {});
    throw explainLoadError(error);
  } finally {
    settings.signal?.removeEventListener('abort', stopOnCallerAbort);
    loadController.abort(new ModelLoadError('model load finished'));
    uninstallGuard(guard);
  }
}

function configureEnvironment(transformers: TransformersModule, settings: ModelLoadSettings): void {
  const { env } = transformers;
  env.allowRemoteModels = settings.allowRemoteModels;
  env.allowLocalModels = true;
  env.useFSCache = true;
  env.cacheDir = resolve(settings.cacheDir);
  env.localModelPath = resolve(settings.localModelPath ?? settings.cacheDir);
  env.remoteHost = `${settings.remoteHost.replace(/\/+$/, '')}/`;
}

/** transformers.js errors name its own settings; say it in ours. */
function explainLoadError(error: unknown): Error {
  const message = describeError(error);
  const missingLocally = /not found locally at "([^"]+)"/.exec(message);
  if (missingLocally) {
    return new ModelLoadError(
      `${missingLocally[1]} does not exist and downloads are disabled (ALLOW_REMOTE_MODELS=false)`,
      { cause: error },
    );
  }
  return error instanceof Error ? error : new ModelLoadError(message);
}

interface DownloadGuard {
  origin: string;
  prefix: string;
  stallTimeoutMs: number;
  signal: AbortSignal;
}

const activeGuards = new Set<DownloadGuard>();
/** The fetch that was global when we last wrapped it; kept after unwrapping, see `uninstallGuard`. */
let wrappedFetch: typeof fetch = globalThis.fetch;

function installGuard(guard: DownloadGuard): void {
  activeGuards.add(guard);
  if (globalThis.fetch === routeFetch) return;
  wrappedFetch = globalThis.fetch;
  globalThis.fetch = routeFetch;
}

function uninstallGuard(guard: DownloadGuard): void {
  activeGuards.delete(guard);
  if (activeGuards.size > 0) return;
  // Someone may have wrapped fetch after us; then routeFetch stays in their chain and passes everything through.
  if (globalThis.fetch === routeFetch) globalThis.fetch = wrappedFetch;
}

const routeFetch: typeof fetch = (input, init) => {
  const url = input instanceof Request ? input.url : String(input);
  for (const guard of activeGuards) {
    if (url.startsWith(guard.prefix)) return guardedFetch(wrappedFetch, guard, url, init);
  }
  return wrappedFetch(input, init);
};

async function guardedFetch(
  original: typeof fetch,
  guard: DownloadGuard,
  url: string,
  init: RequestInit | undefined,
): Promise<Response> {
  const request = new AbortController();
  const abortWithLoad = () => request.abort(guard.signal.reason);
  guard.signal.addEventListener('abort', abortWithLoad, { once: true });
  const release = () => guard.signal.removeEventListener('abort', abortWithLoad);
  request.signal.addEventListener('abort', () => clearTimeout(timer), { once: true });
  let timer = setTimeout(
    () => request.abort(new ModelLoadError(`no response from ${guard.origin} within ${guard.stallTimeoutMs} ms`)),
    guard.stallTimeoutMs,
  );

  let response: Response;
  try {
    const signals = init?.signal ? [init.signal, request.signal] : [request.signal];
    response = await original(url, { ...init, signal: AbortSignal.any(signals) });
  } catch (error) {
    clearTimeout(timer);
    release();
    if (request.signal.aborted) throw request.signal.reason;
    throw new ModelLoadError(`cannot reach ${guard.origin} (${networkErrorCode(error)})`, { cause: error });
  }
  clearTimeout(timer);
  // Error bodies (a 404 for an optional file) are often never read; watching them would only delay exit.
  if (!response.ok || !response.body) {
    release();
    return response;
  }

  const restartStallTimer = () => {
    clearTimeout(timer);
    timer = setTimeout(
      () => request.abort(new ModelLoadError(`download from ${guard.origin} stalled for ${guard.stallTimeoutMs} ms`)),
      guard.stallTimeoutMs,
    );
    // An open socket keeps the process alive while bytes may still come; the timer alone must not.
    timer.unref();
  };
  restartStallTimer();
  const watched = response.body.pipeThrough(
    new TransformStream<Uint8Array, Uint8Array>({
      transform(chunk, controller) {
        restartStallTimer();
        controller.enqueue(chunk);
      },
      flush() {
        clearTimeout(timer);
        release();
      },
    }),
  );
  return new Response(watched, { status: response.status, statusText: response.statusText, headers: response.headers });
}

function networkErrorCode(error: unknown): string {
  const cause = error instanceof Error ? (error.cause as { code?: unknown; message?: unknown } | undefined) : undefined;
  if (typeof cause?.code === 'string') return cause.code;
  if (typeof cause?.message === 'string') return cause.message;
  return describeError(error);
}
