/**
 * Wire shapes the emulator sends, and the checks Discord applies to what bots send. Kept apart from the server so
 * that the server reads as protocol and this file reads as data.
 */
import { nextSnowflake } from './snowflake.js';

export type JsonObject = Record<string, unknown>;

/** The permission bits of an ordinary member (everything short of administrator), as a decimal string. */
export const MEMBER_PERMISSIONS = '2248473465835073';

export interface EmulatedUser {
  id: string;
  username: string;
  bot?: boolean;
  /** The member's permission bits in the guild, as a decimal string; an ordinary member's by default. */
  permissions?: string;
  /** Ids of the member's roles (see `DiscordEmulator.addRole`); none by default. */
  roles?: string[];
}

export function userPayload(user: EmulatedUser): JsonObject {
  return {
    id: user.id,
    username: user.username,
    global_name: user.username,
    discriminator: '0',
    avatar: null,
    bot: user.bot ?? false,
    flags: 0,
    public_flags: 0,
  };
}

export function memberPayload(user: EmulatedUser, joinedAt: string): JsonObject {
  return {
    user: userPayload(user),
    roles: user.roles ?? [],
    joined_at: joinedAt,
    deaf: false,
    mute: false,
    flags: 0,
    // The bot's permission checks see an ordinary member.
    permissions: user.permissions ?? MEMBER_PERMISSIONS,
  };
}

export function textChannelPayload(channelId: string, guildId: string): JsonObject {
  return {
    id: channelId,
    type: 0,
    guild_id: guildId,
    name: 'papers',
    position: 0,
    permission_overwrites: [],
    nsfw: false,
    parent_id: null,
    topic: null,
    last_message_id: null,
    rate_limit_per_user: 0,
    flags: 0,
  };
}

export function guildPayload(
  guildId: string,
  channels: JsonObject[],
  bot: EmulatedUser,
  joinedAt: string,
  threads: JsonObject[] = [],
  roles: JsonObject[] = [],
): JsonObject {
  return {
    id: guildId,
    name: 'papercord emulator',
    icon: null,
    owner_id: nextSnowflake(),
    afk_channel_id: null,
    afk_timeout: 300,
    verification_level: 0,
    default_message_notifications: 0,
    explicit_content_filter: 0,
    roles: [
      {
        id: guildId,
        name: '@everyone',
        color: 0,
        hoist: false,
        position: 0,
        permissions: MEMBER_PERMISSIONS,
        managed: false,
        mentionable: false,
        flags: 0,
      },
      ...roles,
    ],
    emojis: [],
    stickers: [],
    features: [],
    mfa_level: 0,
    system_channel_id: null,
    system_channel_flags: 0,
    rules_channel_id: null,
    vanity_url_code: null,
    description: null,
    banner: null,
    premium_tier: 0,
    preferred_locale: 'en-US',
    public_updates_channel_id: null,
    nsfw_level: 0,
    premium_progress_bar_enabled: false,
    joined_at: joinedAt,
    large: false,
    unavailable: false,
    member_count: 2,
    voice_states: [],
    members: [memberPayload(bot, joinedAt)],
    channels,
    threads,
    presences: [],
    stage_instances: [],
    guild_scheduled_events: [],
    soundboard_sounds: [],
  };
}

/** One problem with a message body, as Discord words it in a 50035 Invalid Form Body error. */
export interface FormProblem {
  path: string;
  message: string;
}

/** Discord's message limits: https://discord.com/developers/docs/resources/message#create-message */
export const MESSAGE_LIMITS = {
  content: 2000,
  embeds: 10,
  title: 256,
  description: 4096,
  fields: 25,
  fieldName: 256,
  fieldValue: 1024,
  footer: 2048,
  authorName: 256,
  embedTotal: 6000,
} as const;

function textLength(value: unknown): number {
  return typeof value === 'string' ? value.length : 0;
}

/** The checks Discord makes on a message body (content, embeds); a bot breaking any of them gets a 400. */
export function messageBodyProblems(body: JsonObject): FormProblem[] {
  const problems: FormProblem[] = [];
  const limit = (path: string, length: number, max: number): void => {
    if (length > max) problems.push({ path, message: `Must be ${max} or fewer in length.` });
  };
  limit('content', textLength(body.content), MESSAGE_LIMITS.content);
  const embeds = Array.isArray(body.embeds) ? (body.embeds as JsonObject[]) : [];
  limit('embeds', embeds.length, MESSAGE_LIMITS.embeds);
  let total = 0;
  embeds.forEach((embed, index) => {
    const at = `embeds.${index}`;
    const fields = Array.isArray(embed.fields) ? (embed.fields as JsonObject[]) : [];
    const footer = (embed.footer ?? {}) as JsonObject;
    const author = (embed.author ?? {}) as JsonObject;
    limit(`${at}.title`, textLength(embed.title), MESSAGE_LIMITS.title);
    limit(`${at}.description`, textLength(embed.description), MESSAGE_LIMITS.description);
    limit(`${at}.fields`, fields.length, MESSAGE_LIMITS.fields);
    limit(`${at}.footer.text`, textLength(footer.text), MESSAGE_LIMITS.footer);
    limit(`${at}.author.name`, textLength(author.name), MESSAGE_LIMITS.authorName);
    total +=
      textLength(embed.title) + textLength(embed.description) + textLength(footer.text) + textLength(author.name);
    fields.forEach((field, fieldIndex) => {
      limit(`${at}.fields.${fieldIndex}.name`, textLength(field.name), MESSAGE_LIMITS.fieldName);
      limit(`${at}.fields.${fieldIndex}.value`, textLength(field.value), MESSAGE_LIMITS.fieldValue);
      if (textLength(field.name) === 0 || textLength(field.value) === 0) {
        problems.push({ path: `${at}.fields.${fieldIndex}`, message: 'This field is required' });
      }
      total += textLength(field.name) + textLength(field.value);
    });
  });
  limit('embeds', total, MESSAGE_LIMITS.embedTotal);
  return problems;
}

/** The body of Discord's 400 Invalid Form Body error. */
export function invalidFormBody(problems: FormProblem[]): JsonObject {
  const errors: JsonObject = {};
  for (const problem of problems) {
    errors[problem.path] = { _errors: [{ code: 'BASE_TYPE_MAX_LENGTH', message: problem.message }] };
  }
  return { message: 'Invalid Form Body', code: 50035, errors };
}

/**
 * The mentions in `content` that would notify someone given the body's `allowed_mentions`
 * (Discord parses every mention when `allowed_mentions` is absent).
 */
export function mentionsThatWouldPing(body: JsonObject): string[] {
  const content = typeof body.content === 'string' ? body.content : '';
  // Mentions inside embeds never notify anyone; only content counts.
  const found = content.match(/@everyone|@here|<@!?\d+>|<@&\d+>/g) ?? [];
  const allowed = body.allowed_mentions as { parse?: string[]; users?: string[]; roles?: string[] } | undefined;
  if (!allowed) return found;
  const parse = new Set(allowed.parse ?? []);
  return found.filter((mention) => {
    if (mention === '@everyone' || mention === '@here') return parse.has('everyone');
    if (mention.startsWith('<@&'))
      return parse.has('roles') || (allowed.roles ?? []).includes(mention.replace(/\D/g, ''));
    return parse.has('users') || (allowed.users ?? []).includes(mention.replace(/\D/g, ''));
  });
}

/** A role of the server, with no permissions of its own. */
export function rolePayload(roleId: string, name: string, position: number): JsonObject {
  return {
    id: roleId,
    name,
    color: 0,
    hoist: false,
    position,
    permissions: '0',
    managed: false,
    mentionable: false,
    flags: 0,
  };
}
