/**
 * The image's HEALTHCHECK command (`node dist/scripts/healthcheck.js`), run as Docker runs it: a process of its own
 * with the container's environment, judged by its exit code.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cleanupsAfterEach, freePort, RUN_TS } from '../support/processes.js';

const cleanups = cleanupsAfterEach();
const script = path.join(import.meta.dirname, '..', '..', 'scripts', 'healthcheck.ts');

function runHealthcheck(env: Record<string, string>): Promise<{ code: number | null; output: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, [...RUN_TS, script], {
      env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? '', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.on('error', reject);
    child.on('exit', (code) => resolve({ code, output }));
  });
}

async function serve(status: number, body: string): Promise<number> {
  const server: Server = createServer((request, response) => {
    response.writeHead(request.url === '/healthz' ? status : 404, { 'content-type': 'application/json' });
    response.end(body);
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())));
  return (server.address() as AddressInfo).port;
}

describe('the image healthcheck', () => {
  it('given /healthz answers 200, it should exit 0 and print the body', async () => {
    const port = await serve(200, '{"status":"ok","failing":[]}');
    const result = await runHealthcheck({ HEALTH_PORT: String(port), HEALTH_HOST: '0.0.0.0' });
    expect(result.code).toBe(0);
    expect(result.output).toContain('200 {"status":"ok","failing":[]}');
  });

  it('given /healthz answers 503 with a failing check, it should exit 1 and name the check', async () => {
    const port = await serve(503, '{"status":"unavailable","failing":["gateway"]}');
    const result = await runHealthcheck({ HEALTH_PORT: String(port) });
    expect(result.code).toBe(1);
    expect(result.output).toContain('"failing":["gateway"]');
  });

  it('given nothing listens on HEALTH_PORT, it should exit 1 saying the connection was refused', async () => {
    const result = await runHealthcheck({ HEALTH_PORT: String(await freePort()) });
    expect(result.code).toBe(1);
    expect(result.output).toContain('ECONNREFUSED');
  });

  it('given no HEALTH_PORT, it should exit 1 saying nothing serves /healthz', async () => {
    const result = await runHealthcheck({});
    expect(result.code).toBe(1);
    expect(result.output).toContain('HEALTH_PORT is not set');
  });

  it('given a process whose event loop is stuck, it should exit 1 once the timeout passes', async () => {
    // Listening, so connections are accepted by the kernel, then never free to answer again.
    const stuck: ChildProcess = spawn(
      process.execPath,
      [
        '-e',
        `require('node:http').createServer((q, r) => r.end('ok')).listen(0, '127.0.0.1', function () {
           process.stdout.write(this.address().port + '\\n');
           setTimeout(() => { for (;;); }, 20);
         });`,
      ],
      { stdio: ['ignore', 'pipe', 'ignore'] },
    );
    cleanups.push(async () => {
      stuck.kill('SIGKILL');
      await new Promise((resolve) => (stuck.exitCode === null ? stuck.once('exit', resolve) : resolve(null)));
    });
    const port = await new Promise<string>((resolve) =>
      stuck.stdout!.once('data', (chunk: Buffer) => resolve(chunk.toString().trim())),
    );

    const result = await runHealthcheck({ HEALTH_PORT: port });
    expect(result.code).toBe(1);
    expect(result.output).toContain('no answer within 4000 ms');
  });
});
