/**
 * The emulated REST API and CDN: records every request with what it answered, applies the rate limits a test
 * asked for, serves attachment bytes, and routes the rest (the application, gateway and command routes here;
 * interactions and channels in their own modules).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { addChannelRoutes } from './channelRoutes.js';
import { addInteractionRoutes } from './interactionRoutes.js';
import { userPayload, type JsonObject } from './payloads.js';
import { discordError, ID, RouteTable, type EmulatorParts, type RouteResult } from './routeTable.js';
import { nextSnowflake } from './snowflake.js';
import type { RateLimitRule, RecordedRequest } from './types.js';

export class EmulatedRest {
  readonly #parts: EmulatorParts;
  readonly #routes = new RouteTable();
  readonly #rateLimits: RateLimitRule[] = [];

  constructor(parts: EmulatorParts, gatewayUrl: () => string) {
    this.#parts = parts;
    this.#addApplicationRoutes(gatewayUrl);
    addInteractionRoutes(this.#routes, parts);
    addChannelRoutes(this.#routes, parts);
  }

  /** Answers the next `times` matching requests with 429 and a `retry_after`. */
  rateLimit(rule: RateLimitRule): void {
    this.#rateLimits.push({ ...rule });
  }

  async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const { state, options, events } = this.#parts;
    const url = new URL(request.url ?? '/', 'http://emulator');
    const method = request.method ?? 'GET';
    const attachmentId = /^\/attachments\/(\d+)\//.exec(url.pathname)?.[1];
    if (attachmentId !== undefined) {
      // The CDN: no auth, raw bytes.
      const file = state.attachmentFiles.get(attachmentId);
      if (!file) return void response.writeHead(404).end();
      return void response
        .writeHead(200, { 'content-type': file.contentType, 'content-length': String(file.bytes.byteLength) })
        .end(Buffer.from(file.bytes));
    }
    const route = decodeURIComponent(url.pathname.replace(/^\/api(\/v\d+)?/, ''));
    const query = Object.fromEntries(url.searchParams);
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const bytes = Buffer.concat(chunks);
    let body: JsonObject | undefined;
    let result: RouteResult;
    try {
      const contentType = request.headers['content-type'] ?? '';
      body = contentType.startsWith('multipart/form-data')
        ? await this.#multipartBody(bytes, contentType)
        : bytes.length > 0
          ? (JSON.parse(bytes.toString('utf8')) as JsonObject)
          : undefined;
      const authorized = request.headers.authorization === `Bot ${options.token}`;
      result =
        this.#rateLimited(method, route) ?? this.#routes.handle(method, route, { params: [], query, body, authorized });
    } catch (error) {
      result = discordError(400, 50109, `The request body contains invalid JSON: ${String(error)}`);
    }
    const recorded: RecordedRequest = { method, route, query, body, status: result.status, at: Date.now() };
    state.requests.push(recorded);
    state.forgetBeyondLimit(state.requests);
    const headers: Record<string, string> = { ...result.headers };
    if (result.body === undefined) {
      response.writeHead(result.status, headers).end();
    } else {
      headers['content-type'] = 'application/json';
      response.writeHead(result.status, headers).end(JSON.stringify(result.body));
    }
    events.emit('request', recorded);
  }

  /**
   * A message with files, as Discord takes it: `payload_json` and `files[n]` parts. The files are kept on the CDN
   * and stand in the body's `attachments` with their URLs, so a test reads a sent file as a member downloads it.
   */
  async #multipartBody(bytes: Buffer, contentType: string): Promise<JsonObject> {
    // The platform's own multipart parser (undici's, behind fetch's Response).
    const form = await new Response(bytes, { headers: { 'content-type': contentType } }).formData();
    const payload = form.get('payload_json');
    const body = (typeof payload === 'string' ? JSON.parse(payload) : {}) as JsonObject;
    const files: JsonObject[] = [];
    for (const [name, value] of form.entries()) {
      if (typeof value === 'string' || !/^files\[\d+\]$/.test(name)) continue;
      files.push(
        this.#parts.state.hostAttachment({
          filename: value.name,
          bytes: new Uint8Array(await value.arrayBuffer()),
          ...(value.type ? { contentType: value.type } : {}),
        }),
      );
    }
    body.attachments = files;
    return body;
  }

  #rateLimited(method: string, route: string): RouteResult | undefined {
    const rule = this.#rateLimits.find(
      (candidate) => candidate.method === method && candidate.route.test(route) && candidate.times > 0,
    );
    if (!rule) return undefined;
    rule.times -= 1;
    const seconds = String(rule.retryAfterSeconds);
    return {
      status: 429,
      body: { message: 'You are being rate limited.', retry_after: rule.retryAfterSeconds, global: false },
      headers: {
        'retry-after': seconds,
        'x-ratelimit-limit': '5',
        'x-ratelimit-remaining': '0',
        'x-ratelimit-reset-after': seconds,
        'x-ratelimit-bucket': 'emulated-bucket',
        'x-ratelimit-scope': 'user',
      },
    };
  }

  /** Who the bot is, where its gateway is, and its registered commands. */
  #addApplicationRoutes(gatewayUrl: () => string): void {
    const { state, options } = this.#parts;
    const routes = this.#routes;
    const gateway = () => ({
      status: 200,
      body: {
        url: gatewayUrl(),
        shards: options.shards,
        session_start_limit: { total: 1000, remaining: 999, reset_after: 0, max_concurrency: 1 },
      },
    });
    const application = () => ({
      status: 200,
      body: {
        id: state.applicationId,
        name: state.bot.username,
        flags: 0,
        bot_public: true,
        bot: userPayload(state.bot),
      },
    });
    routes.on('GET', /^\/gateway\/bot$/, gateway);
    routes.on('GET', /^\/gateway$/, gateway, { auth: false });
    routes.on('GET', /^\/users\/@me$/, () => ({ status: 200, body: userPayload(state.bot) }));
    routes.on('GET', /^\/(?:oauth2\/)?applications\/@me$/, application);
    routes.on('PUT', new RegExp(`^/applications/${ID}/commands$`), ({ params, body }) =>
      this.#overwriteCommands(params[0]!, 'global', body),
    );
    routes.on('PUT', new RegExp(`^/applications/${ID}/guilds/${ID}/commands$`), ({ params, body }) =>
      this.#overwriteCommands(params[0]!, params[1]!, body),
    );
    routes.on('GET', new RegExp(`^/applications/${ID}/commands$`), () => ({
      status: 200,
      body: state.registeredCommands.get('global') ?? [],
    }));
  }

  #overwriteCommands(applicationId: string, scope: string, body: unknown): RouteResult {
    const { state } = this.#parts;
    if (applicationId !== state.applicationId) return discordError(404, 10002, 'Unknown Application');
    if (!Array.isArray(body)) return discordError(400, 50035, 'Invalid Form Body');
    const commands = (body as JsonObject[]).map((command) => ({
      ...command,
      id: nextSnowflake(),
      application_id: state.applicationId,
      version: nextSnowflake(),
      ...(scope === 'global' ? {} : { guild_id: scope }),
    }));
    state.registeredCommands.set(scope, commands);
    return { status: 200, body: commands };
  }
}
