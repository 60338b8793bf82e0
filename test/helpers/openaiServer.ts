import { createServer, type IncomingMessage, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A tiny OpenAI-compatible chat completions server on 127.0.0.1, scripted per test, so the real LangChain OpenAI
 * client can be exercised against every way a hosted or local LLM server behaves or fails. It also speaks Ollama's
 * `/api/chat` (newline-delimited JSON), so the Ollama backend meets the same scripts.
 */

export type ScriptedReply =
  /**
   * A completion whose message is `content`; streamed as SSE chunks (one per word) when the request asks for a stream.
   * With `holdAfter`, the stream sends that many words, then waits for `until` before sending the rest.
   */
  | { kind: 'text'; content: string; holdAfter?: { words: number; until: Promise<unknown> } }
  /** An HTTP error such as 429 or 500, with an OpenAI-style error body. */
  | { kind: 'status'; status: number; message?: string }
  /** Accepts the request and never answers. */
  | { kind: 'hang' }
  /** Starts a stream, sends `partial`, then never sends another byte. */
  | { kind: 'stall'; partial: string };

export interface ReceivedRequest {
  path: string;
  authorization?: string;
  body: ChatCompletionRequest;
}

export interface ChatCompletionRequest {
  model?: string;
  stream?: boolean;
  messages: { role: string; content: unknown }[];
  response_format?: { type: string };
  tools?: { type: string; function: { name: string } }[];
}

export interface OpenAICompatibleServer {
  /** Base URL to give the OpenAI client, ending in `/v1`. */
  readonly baseURL: string;
  readonly requests: ReceivedRequest[];
  /** Replies used in order, one per request; the last one repeats. */
  script(...replies: ScriptedReply[]): void;
  close(): Promise<void>;
}

export async function startOpenAICompatibleServer(): Promise<OpenAICompatibleServer> {
  let replies: ScriptedReply[] = [{ kind: 'text', content: 'OK' }];
  const requests: ReceivedRequest[] = [];

  const server = createServer((request, response) => {
    void readBody(request).then((raw) => {
      const body = JSON.parse(raw) as ChatCompletionRequest;
      requests.push({ path: request.url ?? '', authorization: request.headers.authorization, body });
      const reply = replies.length > 1 ? replies.shift()! : replies[0]!;
      if (request.url?.startsWith('/api/chat')) respondAsOllama(reply, body, response);
      else respond(reply, body, response);
    });
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  const { port } = server.address() as AddressInfo;

  return {
    baseURL: `http://127.0.0.1:${port}/v1`,
    requests,
    script(...next) {
      replies = next;
    },
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}

function respond(reply: ScriptedReply, body: ChatCompletionRequest, response: ServerResponse): void {
  switch (reply.kind) {
    case 'hang':
      return;
    case 'status':
      response.writeHead(reply.status, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({ error: { message: reply.message ?? `status ${reply.status}`, type: 'server_error' } }),
      );
      return;
    case 'stall':
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(sse(chunk({ content: reply.partial })));
      return;
    case 'text':
      if (body.stream) void streamText(reply, response);
      else sendCompletion(reply.content, body, response);
  }
}

/** Ollama streams one JSON object per line, the last with `done: true`. */
function respondAsOllama(reply: ScriptedReply, body: ChatCompletionRequest, response: ServerResponse): void {
  if (reply.kind !== 'text') {
    respond(reply, body, response);
    return;
  }
  const line = (message: string, done: boolean) =>
    `${JSON.stringify({
      model: body.model ?? 'test-model',
      created_at: '2026-01-01T00:00:00Z',
      message: { role: 'assistant', content: message },
      done,
      ...(done ? { done_reason: 'stop', prompt_eval_count: 1, eval_count: 1 } : {}),
    })}\n`;
  response.writeHead(200, { 'content-type': 'application/x-ndjson' });
  if (body.stream === false) {
    response.end(line(reply.content, true));
    return;
  }
  for (const piece of reply.content.match(/\S+\s*|\s+/g) ?? []) response.write(line(piece, false));
  response.end(line('', true));
}

/** With tools forced (function calling), the content travels as the tool call's arguments, as OpenAI sends it. */
function toolName(body: ChatCompletionRequest): string | undefined {
  return body.tools?.[0]?.function.name;
}

function sendCompletion(content: string, body: ChatCompletionRequest, response: ServerResponse): void {
  const name = toolName(body);
  const message = name
    ? {
        role: 'assistant',
        content: null,
        tool_calls: [{ id: 'call_1', type: 'function', function: { name, arguments: content } }],
      }
    : { role: 'assistant', content };
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(
    JSON.stringify({
      id: 'chatcmpl-test',
      object: 'chat.completion',
      created: 1_700_000_000,
      model: body.model ?? 'test-model',
      choices: [{ index: 0, message, finish_reason: name ? 'tool_calls' : 'stop' }],
      usage: { prompt_tokens: 1, completion_tokens: 1, total_tokens: 2 },
    }),
  );
}

async function streamText(
  reply: { content: string; holdAfter?: { words: number; until: Promise<unknown> } },
  response: ServerResponse,
): Promise<void> {
  response.writeHead(200, { 'content-type': 'text/event-stream' });
  response.write(sse(chunk({ role: 'assistant', content: '' })));
  const pieces = reply.content.match(/\S+\s*|\s+/g) ?? [];
  for (const [index, piece] of pieces.entries()) {
    if (index === reply.holdAfter?.words) await reply.holdAfter.until;
    response.write(sse(chunk({ content: piece })));
  }
  response.write(sse({ ...chunk({}), choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
  response.end('data: [DONE]\n\n');
}

function chunk(delta: Record<string, unknown>) {
  return {
    id: 'chatcmpl-test',
    object: 'chat.completion.chunk',
    created: 1_700_000_000,
    model: 'test-model',
    choices: [{ index: 0, delta, finish_reason: null }],
  };
}

function sse(data: unknown): string {
  return `data: ${JSON.stringify(data)}\n\n`;
}

function readBody(request: IncomingMessage): Promise<string> {
  return new Promise((resolve, reject) => {
    let raw = '';
    request.setEncoding('utf8');
    request.on('data', (part: string) => (raw += part));
    request.on('end', () => resolve(raw));
    request.on('error', reject);
  });
}
