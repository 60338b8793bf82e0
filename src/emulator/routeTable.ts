/** The REST routes' plumbing: a table of method and path patterns, and Discord's error bodies. */
import type { EventEmitter } from 'node:events';
import type { EmulatedGateway } from './gateway.js';
import type { JsonObject } from './payloads.js';
import type { EmulatorState } from './state.js';
import type { DiscordEmulatorOptions } from './types.js';

export interface RouteContext {
  /** The pattern's capture groups, in order. */
  params: string[];
  query: Record<string, string>;
  body: JsonObject | undefined;
  authorized: boolean;
}

export interface RouteResult {
  status: number;
  body?: unknown;
  headers?: Record<string, string>;
}

export type RouteHandler = (context: RouteContext) => RouteResult;

/** What route handlers work on. */
export interface EmulatorParts {
  state: EmulatorState;
  gateway: EmulatedGateway;
  options: Required<DiscordEmulatorOptions>;
  events: EventEmitter;
}

/** Path fragments for route patterns: a snowflake and an interaction or webhook token. */
export const ID = '(\\d+)';
export const TOKEN = '([^/]+)';

export function discordError(status: number, code: number, message: string): RouteResult {
  return { status, body: { message, code } };
}

export class RouteTable {
  #routes: Array<{ method: string; pattern: RegExp; handler: RouteHandler }> = [];

  /** Adds a route; unless `auth` is false, a request without the bot token gets 401 (webhooks need none). */
  on(method: string, pattern: RegExp, handler: RouteHandler, options: { auth: boolean } = { auth: true }): void {
    this.#routes.push({
      method,
      pattern,
      handler: (context) =>
        options.auth && !context.authorized ? discordError(401, 0, '401: Unauthorized') : handler(context),
    });
  }

  handle(method: string, route: string, context: RouteContext): RouteResult {
    for (const candidate of this.#routes) {
      if (candidate.method !== method) continue;
      const match = candidate.pattern.exec(route);
      if (match) return candidate.handler({ ...context, params: match.slice(1) });
    }
    return discordError(404, 0, '404: Not Found');
  }
}
