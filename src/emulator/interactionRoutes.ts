/**
 * The REST routes of interactions: the callback (with Discord's 3-second deadline and its "already acknowledged"),
 * and the webhook routes that edit, read and delete the reply and send and edit follow-ups.
 */
import { invalidFormBody, messageBodyProblems, type JsonObject } from './payloads.js';
import { discordError, ID, TOKEN, type EmulatorParts, type RouteResult, type RouteTable } from './routeTable.js';
import { EPHEMERAL_FLAG, LOADING_FLAG } from './state.js';

export function addInteractionRoutes(routes: RouteTable, parts: EmulatorParts): void {
  const { state } = parts;
  const webhookOnly = { auth: false };
  routes.on(
    'POST',
    new RegExp(`^/interactions/${ID}/${TOKEN}/callback$`),
    ({ params, query, body }) => interactionCallback(parts, params[0]!, params[1]!, query, body ?? {}),
    webhookOnly,
  );
  routes.on(
    'PATCH',
    new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/@original$`),
    ({ params, body }) => editOriginal(parts, params[1]!, body ?? {}),
    webhookOnly,
  );
  routes.on(
    'GET',
    new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/@original$`),
    ({ params }) => {
      const original = state.interactionByToken(params[1]!)?.original;
      return original ? { status: 200, body: original } : discordError(404, 10008, 'Unknown Message');
    },
    webhookOnly,
  );
  routes.on(
    'DELETE',
    new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/@original$`),
    ({ params }) => {
      const record = state.interactionByToken(params[1]!);
      const original = record?.original;
      if (!record || !original) return discordError(404, 10008, 'Unknown Message');
      const channelMessages = state.messages.get(record.channelId) ?? [];
      state.messages.set(
        record.channelId,
        channelMessages.filter((message) => message.id !== original.id),
      );
      record.originalDeleted = true;
      state.interactionChanged(record);
      return { status: 204 };
    },
    webhookOnly,
  );
  routes.on(
    'POST',
    new RegExp(`^/webhooks/${ID}/${TOKEN}$`),
    ({ params, body }) => followUp(parts, params[1]!, body ?? {}),
    webhookOnly,
  );
  routes.on(
    'PATCH',
    new RegExp(`^/webhooks/${ID}/${TOKEN}/messages/${ID}$`),
    ({ params, body }) => editFollowUp(parts, params[1]!, params[2]!, body ?? {}),
    webhookOnly,
  );
}

function interactionCallback(
  { state, options }: EmulatorParts,
  interactionId: string,
  interactionToken: string,
  query: Record<string, string>,
  body: JsonObject,
): RouteResult {
  const record = state.interactions.get(interactionId);
  if (!record || record.token !== interactionToken) return discordError(404, 10062, 'Unknown interaction');
  if (record.acknowledgedAt !== undefined)
    return discordError(400, 40060, 'Interaction has already been acknowledged.');
  if (options.now() - record.dispatchedAt > options.interactionAckTimeoutMs)
    return discordError(404, 10062, 'Unknown interaction');
  const type = Number(body.type);
  const data = (body.data ?? {}) as JsonObject;
  if (type === 4) {
    const problems = messageBodyProblems(data);
    if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
  }
  if (type === 8 && (!Array.isArray(data.choices) || data.choices.length > 25)) {
    return discordError(400, 50035, 'Invalid Form Body: choices must be 25 or fewer');
  }
  record.acknowledgedAt = options.now();
  record.callbackType = type;
  record.callbackBody = body;
  if (type === 4 || type === 5) {
    const flags = Number(data.flags ?? 0) | (type === 5 ? LOADING_FLAG : 0);
    record.original = state.storeMessage(record.channelId, state.bot, type === 4 ? data : {}, {
      type: 20,
      flags,
      webhookId: state.applicationId,
      ephemeral: (flags & EPHEMERAL_FLAG) !== 0,
    });
  }
  state.interactionChanged(record);
  if (query.with_response !== 'true') return { status: 204 };
  return {
    status: 200,
    body: {
      interaction: {
        id: record.id,
        type: record.kind === 'command' ? 2 : record.kind === 'component' ? 3 : 4,
        activity_instance_id: null,
        response_message_id: record.original?.id ?? null,
        response_message_loading: type === 5,
        response_message_ephemeral: record.original ? (record.original.flags & EPHEMERAL_FLAG) !== 0 : false,
      },
      resource: record.original ? { type, message: record.original } : { type },
    },
  };
}

function editOriginal({ state }: EmulatorParts, interactionToken: string, body: JsonObject): RouteResult {
  const record = state.interactionByToken(interactionToken);
  if (!record?.original) return discordError(404, 10015, 'Unknown Webhook');
  const problems = messageBodyProblems({ ...record.original, ...body });
  if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
  Object.assign(record.original, body, {
    flags: record.original.flags & ~LOADING_FLAG,
    edited_timestamp: new Date().toISOString(),
  });
  record.originalEdits.push(body);
  state.interactionChanged(record);
  return { status: 200, body: record.original };
}

function followUp({ state }: EmulatorParts, interactionToken: string, body: JsonObject): RouteResult {
  const record = state.interactionByToken(interactionToken);
  if (!record?.acknowledgedAt) return discordError(404, 10015, 'Unknown Webhook');
  const problems = messageBodyProblems(body);
  if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
  const flags = Number(body.flags ?? 0);
  const message = state.storeMessage(record.channelId, state.bot, body, {
    type: 19,
    flags,
    webhookId: state.applicationId,
    ephemeral: (flags & EPHEMERAL_FLAG) !== 0,
  });
  record.followUps.push(message);
  state.interactionChanged(record);
  return { status: 200, body: message };
}

function editFollowUp(
  { state }: EmulatorParts,
  interactionToken: string,
  messageId: string,
  body: JsonObject,
): RouteResult {
  const message = state.interactionByToken(interactionToken)?.followUps.find((candidate) => candidate.id === messageId);
  if (!message) return discordError(404, 10008, 'Unknown Message');
  const problems = messageBodyProblems({ ...message, ...body });
  if (problems.length > 0) return { status: 400, body: invalidFormBody(problems) };
  Object.assign(message, body, { edited_timestamp: new Date().toISOString() });
  return { status: 200, body: message };
}
