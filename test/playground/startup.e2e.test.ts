import { spawn } from 'node:child_process';
import { createServer, request as httpRequest } from 'node:http';
import type { AddressInfo } from 'node:net';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { freePort, RUN_TS } from '../support/processes.js';

const cleanups: Array<() => Promise<void>> = [];
afterEach(async () => {
  while (cleanups.length > 0) await cleanups.pop()!();
});

/** Runs `entry` as `npm start` / `npm run playground` do; `printedUrl` is the URL it prints on stdout. */
async function spawnProcess(entry: string, env: Record<string, string>) {
  const dataDir = await mkdtemp(path.join(tmpdir(), 'papercord-playground-start-'));
  const child = spawn(process.execPath, [...RUN_TS, entry], {
    env: {
      PATH: process.env.PATH ?? '',
      HOME: process.env.HOME ?? '',
      DATA_DIR: dataDir,
      EMBEDDINGS: 'hashing',
      FULL_TEXT: 'off',
      LOG_LEVEL: 'silent',
      PLAYGROUND_PORT: '0',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  cleanups.push(async () => {
    if (child.exitCode === null) child.kill('SIGKILL');
    await exited;
    await rm(dataDir, { recursive: true, force: true });
  });
  const printedUrl = new Promise<string>((resolve, reject) => {
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      const printed = /papercord playground: (http:\/\/127\.0\.0\.1:\d+)\n/.exec(stdout);
      if (printed) resolve(printed[1]!);
    });
    void exited.then((code) => reject(new Error(`exited ${code} before printing a URL: ${stderr}`)));
  });
  return { child, exited, printedUrl, stderr: () => stderr };
}

async function startProcess(entry: string, env: Record<string, string>) {
  const started = await spawnProcess(entry, env);
  return { ...started, url: await started.printedUrl };
}

describe('starting the playground', () => {
  it('given no DISCORD_TOKEN, npm start should say so in one line, print the playground URL and serve the page on the seed library', async () => {
    const started = await startProcess('src/main.ts', { DISCORD_TOKEN: '' });

    const page = await fetch(started.url);
    expect(page.status).toBe(200);
    expect(await page.text()).toContain('papercord playground');
    const info = (await (await fetch(`${started.url}/api/commands`)).json()) as { commands: Array<{ name: string }> };
    expect(info.commands.map((command) => command.name)).toEqual(
      expect.arrayContaining(['ask', 'compare', 'paper', 'trending']),
    );
    const choices = (await (
      await fetch(
        `${started.url}/api/autocomplete?command=paper&focused=paper&options=${encodeURIComponent('{"paper":"vision"}')}`,
      )
    ).json()) as {
      choices: unknown[];
    };
    expect(choices.choices.length).toBeGreaterThan(0);
    expect(started.stderr().trim().split('\n')).toHaveLength(1);
    expect(started.stderr()).toContain('DISCORD_TOKEN is not set, so the local playground is starting');

    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });

  it('given a DISCORD_TOKEN, npm run playground should still log the bot in to the stand-in, not to Discord', async () => {
    // Logging everything it can, so that a token in any log line would show.
    const started = await startProcess('src/playground/main.ts', {
      DISCORD_TOKEN: 'a-real-looking-token',
      DISCORD_API_BASE: 'http://127.0.0.1:9/api',
      LOG_LEVEL: 'trace',
    });

    // Autocomplete is answered by the bot itself: it is connected, though DISCORD_API_BASE points nowhere.
    const choices = (await (
      await fetch(
        `${started.url}/api/autocomplete?command=compare&focused=paper_a&options=${encodeURIComponent('{"paper_a":"vision"}')}`,
      )
    ).json()) as {
      choices: Array<{ name: string }>;
    };
    expect(choices.choices.length).toBeGreaterThan(0);
    expect(started.stderr().trim().split('\n').length).toBeGreaterThan(2);
    expect(started.stderr()).not.toContain('a-real-looking-token');

    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });

  it('given PLAYGROUND_HOST=0.0.0.0 (a container), it should serve beyond loopback, warn that the page has no login, and still refuse other host names', async () => {
    const started = await startProcess('src/playground/main.ts', { PLAYGROUND_HOST: '0.0.0.0', LOG_LEVEL: 'warn' });
    const port = new URL(started.url).port;

    expect((await fetch(started.url)).status).toBe(200);
    expect(started.stderr()).toContain(
      `PLAYGROUND_HOST=0.0.0.0 is not a loopback address: anyone who can reach port ${port} can use the playground, which has no login`,
    );
    // Through a published port (docker run -p 8080:3000) the browser names another port: accepted, by address or
    // localhost; a DNS name that could be rebound to this machine is not.
    expect(await statusWithHost(started.url, 'localhost:8080')).toBe(200);
    expect(await statusWithHost(started.url, '192.0.2.10:8080')).toBe(200);
    expect(await statusWithHost(started.url, `attacker.example:${port}`)).toBe(421);

    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });

  it('given HEALTH_PORT (the image sets it), /healthz should report the bot connected to the stand-in and the library open, and close on SIGTERM', async () => {
    const healthPort = await freePort();
    const started = await startProcess('src/main.ts', { DISCORD_TOKEN: '', HEALTH_PORT: String(healthPort) });
    const healthz = `http://127.0.0.1:${healthPort}/healthz`;

    const response = await fetch(healthz);
    expect(response.status).toBe(200);
    const body = (await response.json()) as Record<string, unknown>;
    expect(body).toMatchObject({ status: 'ok', failing: [], gateway: true, library: true });
    expect(body.papers).toBeGreaterThan(0);
    expect((await fetch(`http://127.0.0.1:${healthPort}/metrics`)).status).toBe(200);

    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
    await expect(fetch(healthz)).rejects.toThrow();
  });

  it('given the default PLAYGROUND_HOST, it should listen on loopback only, without the warning', async () => {
    const started = await startProcess('src/playground/main.ts', { LOG_LEVEL: 'warn' });
    expect(started.url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
    expect(started.stderr()).not.toContain('PLAYGROUND_HOST');
    expect(await statusWithHost(started.url, 'localhost:8080')).toBe(421);

    started.child.kill('SIGTERM');
    expect(await started.exited).toBe(0);
  });

  it('given PLAYGROUND_PORT is taken, it should exit 1 with one line naming the variable', async () => {
    const blocker = createServer();
    await new Promise<void>((resolve) => blocker.listen(0, '127.0.0.1', resolve));
    cleanups.push(() => new Promise<void>((resolve) => blocker.close(() => resolve())));
    const port = String((blocker.address() as AddressInfo).port);

    const started = await spawnProcess('src/playground/main.ts', { PLAYGROUND_PORT: port });
    started.printedUrl.catch(() => undefined);

    expect(await started.exited).toBe(1);
    expect(started.stderr().trim()).toBe(
      `papercord: PLAYGROUND_PORT ${port} is already in use on 127.0.0.1; set PLAYGROUND_PORT to a free port (e.g. ${Number(port) + 1}).`,
    );
  });
});

/** The status of GET / sent to `url` with `host` as the Host header, as a browser behind a published port sends it. */
function statusWithHost(url: string, host: string): Promise<number | undefined> {
  return new Promise((resolve, reject) => {
    const request = httpRequest(url, { headers: { host } }, (response) => {
      response.resume();
      resolve(response.statusCode);
    });
    request.on('error', reject);
    request.end();
  });
}
