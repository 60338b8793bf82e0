import { ChatOpenAI } from '@langchain/openai';
import { afterEach, describe, expect, it } from 'vitest';
import { HEALTHZ_PATH, METRICS_PATH, startHealthServer, type HealthServer } from '../../src/ops/health.js';
import { createMetrics, llmErrorCallbacks, llmErrorKind } from '../../src/ops/metrics.js';
import { startOpenAICompatibleServer } from '../helpers/openaiServer.js';

const servers: HealthServer[] = [];
afterEach(async () => {
  await Promise.all(servers.splice(0).map((server) => server.close()));
});

async function start(options: Omit<Parameters<typeof startHealthServer>[0], 'port' | 'host'>): Promise<HealthServer> {
  const server = await startHealthServer({ port: 0, host: '127.0.0.1', ...options });
  servers.push(server);
  return server;
}

/** The value of one sample line, e.g. `papercord_library_papers 42`, or undefined when absent. */
function sample(exposition: string, series: string): number | undefined {
  const line = exposition.split('\n').find((candidate) => candidate.startsWith(`${series} `));
  return line === undefined ? undefined : Number(line.slice(series.length + 1));
}

describe('health server', () => {
  it('given a connected gateway and a loaded library, it should answer /healthz with 200 and the paper count', async () => {
    const { registry } = createMetrics({ defaultMetrics: false });
    const server = await start({
      registry,
      checks: { gateway: () => true, library: async () => true },
      paperCount: () => 42,
    });

    const response = await fetch(`${server.url}${HEALTHZ_PATH}`);

    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({ status: 'ok', failing: [], gateway: true, library: true, papers: 42 });
  });

  it('given a disconnected gateway, it should answer 503 and name the failing check', async () => {
    let gatewayConnected = true;
    const { registry } = createMetrics({ defaultMetrics: false });
    const server = await start({ registry, checks: { gateway: () => gatewayConnected, library: () => true } });

    gatewayConnected = false;
    const response = await fetch(`${server.url}${HEALTHZ_PATH}`);

    expect(response.status).toBe(503);
    expect(await response.json()).toMatchObject({ status: 'unavailable', failing: ['gateway'], gateway: false });
  });

  it('given a check that throws or never answers, it should count it as failing instead of hanging', async () => {
    const { registry } = createMetrics({ defaultMetrics: false });
    const server = await start({
      registry,
      checkTimeoutMs: 50,
      checks: {
        gateway: () => new Promise<boolean>(() => {}),
        library: () => {
          throw new Error('index file missing');
        },
      },
    });

    const response = await fetch(`${server.url}${HEALTHZ_PATH}`);

    expect(response.status).toBe(503);
    expect(((await response.json()) as { failing: string[] }).failing).toEqual(['gateway', 'library']);
  });

  it('given recorded interactions, answers and LLM errors, it should expose them on /metrics in Prometheus format', async () => {
    let papers = 3;
    const metrics = createMetrics({ defaultMetrics: false, paperCount: () => papers });
    const server = await start({ registry: metrics.registry, checks: {} });
    metrics.recordInteraction('ask', 'ok');
    metrics.recordInteraction('ask', 'ok');
    metrics.recordInteraction('ask', 'user_error');
    metrics.recordInteraction('compare', 'error');
    metrics.recordLlmError('ollama', 'timeout');
    const endAnswer = metrics.startAnswerTimer();
    endAnswer();
    endAnswer();
    papers = 5;

    const response = await fetch(`${server.url}${METRICS_PATH}`);
    const text = await response.text();

    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/plain');
    expect(sample(text, 'papercord_interactions_total{command="ask",outcome="ok"}')).toBe(2);
    expect(sample(text, 'papercord_interactions_total{command="ask",outcome="user_error"}')).toBe(1);
    expect(sample(text, 'papercord_interactions_total{command="compare",outcome="error"}')).toBe(1);
    expect(sample(text, 'papercord_llm_errors_total{provider="ollama",kind="timeout"}')).toBe(1);
    expect(sample(text, 'papercord_answer_latency_seconds_count')).toBe(1);
    expect(sample(text, 'papercord_library_papers')).toBe(5);
  });

  it('given default process metrics, it should report resident memory for soak runs', async () => {
    const metrics = createMetrics();
    const server = await start({ registry: metrics.registry, checks: {} });

    const text = await (await fetch(`${server.url}${METRICS_PATH}`)).text();

    expect(sample(text, 'papercord_process_resident_memory_bytes')).toBeGreaterThan(0);
  });

  it('given an unknown path or a POST, it should refuse it', async () => {
    const server = await start({ registry: createMetrics({ defaultMetrics: false }).registry, checks: {} });

    expect((await fetch(`${server.url}/admin`)).status).toBe(404);
    expect((await fetch(`${server.url}${HEALTHZ_PATH}`, { method: 'POST' })).status).toBe(405);
  });

  it('given close(), it should stop listening even with a kept-alive scraper connection', async () => {
    const server = await startHealthServer({
      port: 0,
      host: '127.0.0.1',
      registry: createMetrics({ defaultMetrics: false }).registry,
      checks: {},
    });
    await (await fetch(`${server.url}${METRICS_PATH}`, { keepalive: true })).text();

    await server.close();

    await expect(fetch(`${server.url}${HEALTHZ_PATH}`)).rejects.toThrow();
  });
});

describe('llmErrorKind', () => {
  it('given the errors fetch and LLM clients throw, it should label them by what an operator would do about them', () => {
    const rateLimited = Object.assign(new Error('429 Too Many Requests'), { status: 429 });
    const serverError = Object.assign(new Error('500 Internal Server Error'), { status: 500 });
    const refused = new TypeError('fetch failed', {
      cause: Object.assign(new Error('connect'), { code: 'ECONNREFUSED' }),
    });

    expect(llmErrorKind(new DOMException('The operation timed out.', 'TimeoutError'))).toBe('timeout');
    expect(llmErrorKind(new DOMException('This operation was aborted', 'AbortError'))).toBe('aborted');
    expect(llmErrorKind(rateLimited)).toBe('rate_limited');
    expect(llmErrorKind(serverError)).toBe('http');
    expect(llmErrorKind(refused)).toBe('network');
    expect(llmErrorKind('a string')).toBe('other');
  });
});

describe('llmErrorCallbacks', () => {
  it('given a chat model whose server answers 500 and then refuses connections, it should count each failure by kind', async () => {
    const server = await startOpenAICompatibleServer();
    const metrics = createMetrics({ defaultMetrics: false });
    const model = new ChatOpenAI({
      model: 'test',
      apiKey: 'not-needed',
      configuration: { baseURL: server.baseURL },
      maxRetries: 0,
    });
    model.callbacks = [llmErrorCallbacks(metrics, 'openai')];
    try {
      server.script({ kind: 'status', status: 500 });
      await expect(model.invoke('hello')).rejects.toThrow();
      await server.close();
      await expect(model.invoke('hello')).rejects.toThrow();
    } finally {
      await server.close();
    }

    const text = await metrics.registry.metrics();
    expect(sample(text, 'papercord_llm_errors_total{provider="openai",kind="http"}')).toBe(1);
    expect(sample(text, 'papercord_llm_errors_total{provider="openai",kind="network"}')).toBe(1);
  });
});
