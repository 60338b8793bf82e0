import { request as httpRequest } from 'node:http';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { loadConfig } from '../../src/config.js';
import { silentLogger } from '../../src/logger.js';
import { loadPapersFromSource } from '../../src/papers/ingest.js';
import type { Playground } from '../../src/playground/server.js';
import { createServices, type Services } from '../../src/services.js';
import { startTestPlayground } from '../support/playground.js';

let dataDir: string;
let services: Services;
let playground: Playground;

beforeAll(async () => {
  dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-playground-api-'));
  const config = loadConfig({
    DATA_DIR: dataDir,
    EMBEDDINGS: 'hashing',
    FULL_TEXT: 'off',
    LOG_LEVEL: 'silent',
    ASK_COOLDOWN_SECONDS: '0',
  });
  services = await createServices(config, silentLogger());
  await services.library.add(await loadPapersFromSource('seeds'));
  playground = await startTestPlayground(services, config);
});

afterAll(async () => {
  await playground?.close();
  await services?.close();
  if (dataDir) await rm(dataDir, { recursive: true, force: true });
});

/** A raw request, so that the Host header can be anything (fetch sets it from the URL). */
function rawRequest(options: {
  method?: string;
  path: string;
  host?: string;
  contentType?: string;
  body?: string;
}): Promise<{ status: number; body: string }> {
  const url = new URL(playground.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest(
      {
        host: '127.0.0.1',
        port: url.port,
        method: options.method ?? 'GET',
        path: options.path,
        headers: {
          host: options.host ?? url.host,
          ...(options.contentType ? { 'content-type': options.contentType } : {}),
        },
      },
      (response) => {
        let body = '';
        response.on('data', (chunk: Buffer) => (body += chunk.toString()));
        response.on('end', () => resolve({ status: response.statusCode ?? 0, body }));
      },
    );
    request.on('error', reject);
    request.end(options.body);
  });
}

const postCommand = (body: unknown) =>
  rawRequest({ method: 'POST', path: '/api/command', contentType: 'application/json', body: JSON.stringify(body) });

describe('the playground server', () => {
  it('given a page from another site, it should refuse to drive the bot (other Host names, non-JSON posts)', async () => {
    const rebound = await rawRequest({ path: '/api/commands', host: 'attacker.example:80' });
    const formPost = await rawRequest({
      method: 'POST',
      path: '/api/message',
      contentType: 'text/plain',
      body: '{"content":"hi"}',
    });

    expect(rebound.status).toBe(421);
    expect(formPost.status).toBe(415);
    expect(playground.emulator.requests.filter((request) => request.route.includes('/channels/'))).toHaveLength(0);
  });

  it('given the page, it should forbid scripts, frames and images from anywhere but the playground itself', async () => {
    const response = await fetch(playground.url);
    const policy = response.headers.get('content-security-policy') ?? '';

    expect(policy).toContain("script-src 'self'");
    expect(policy).toContain("default-src 'none'");
    expect(policy).toContain("frame-ancestors 'none'");
  });

  it('given an option the command does not have or a number that is not one, it should say so without dispatching anything', async () => {
    const dispatched = playground.emulator.interactions.size;

    const unknown = await postCommand({ name: 'ask', options: { question: 'why?', temperature: '2' } });
    const notANumber = await postCommand({ name: 'ask', options: { question: 'why?', k: 'five' } });
    const channel = await postCommand({
      name: 'trending',
      subcommand: 'subscribe',
      options: { channel: 'general', time: '09:00', timezone: 'UTC' },
    });

    expect(unknown).toMatchObject({ status: 400 });
    expect(JSON.parse(unknown.body).error).toBe('/ask has no option "temperature" (options: question, k, paper).');
    expect(JSON.parse(notANumber.body).error).toBe('k must be a whole number (got "five").');
    expect(JSON.parse(channel.body).error).toContain('cannot send the option channel');
    expect(playground.emulator.interactions.size).toBe(dispatched);
  });

  it('given /ask k: 3 from the page, it should reach the bot as an INTEGER option, as Discord sends it', async () => {
    const response = await postCommand({ name: 'ask', options: { question: 'What does LoRA change?', k: '3' } });
    const { interactionId } = JSON.parse(response.body) as { interactionId: string };

    const record = await playground.emulator.waitForInteraction(
      interactionId,
      (changed) => changed.original?.embeds.length === 1,
      20_000,
    );
    expect(response.status).toBe(202);
    const sources = (
      (record.original!.embeds[0] as { fields?: Array<{ name: string; value: string }> }).fields ?? []
    ).find((field) => field.name === 'Sources');
    expect(sources?.value.split('\n').length).toBeLessThanOrEqual(3);
  });
});
