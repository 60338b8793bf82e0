import { PermissionFlagsBits, type GuildBasedChannel } from 'discord.js';
import { UserError } from '../errors.js';

/** Permission bits by the name Discord's server settings show. */
export const PERMISSION_NAMES = {
  'View Channel': PermissionFlagsBits.ViewChannel,
  'Send Messages': PermissionFlagsBits.SendMessages,
  'Read Message History': PermissionFlagsBits.ReadMessageHistory,
  'Add Reactions': PermissionFlagsBits.AddReactions,
  'Embed Links': PermissionFlagsBits.EmbedLinks,
  'Create Public Threads': PermissionFlagsBits.CreatePublicThreads,
} as const;

export type PermissionName = keyof typeof PERMISSION_NAMES;

/** What link pickup needs: to see the messages, read them back, react to them and say when something fails. */
export const LINK_PICKUP_PERMISSIONS: readonly PermissionName[] = [
  'View Channel',
  'Read Message History',
  'Add Reactions',
  'Send Messages',
];

/** What the daily trending post needs (it looks back in the channel's history for a post it may already have made). */
export const TRENDING_POST_PERMISSIONS: readonly PermissionName[] = [
  'View Channel',
  'Read Message History',
  'Send Messages',
  'Embed Links',
];

/** The permissions of `needed` the bot lacks in `channel`, by name; channel overwrites included. */
export function missingBotPermissions(channel: GuildBasedChannel, needed: readonly PermissionName[]): PermissionName[] {
  const me = channel.guild.members.me;
  const granted = me ? channel.permissionsFor(me) : null;
  // Unknown (the bot's member is not cached): say nothing rather than claim something is missing.
  if (!granted) return [];
  return needed.filter((name) => !granted.has(PERMISSION_NAMES[name]));
}

/** Throws a UserError naming what the bot lacks in the channel, and where to grant it, before anything is switched on. */
export function requireBotPermissions(
  channel: GuildBasedChannel,
  needed: readonly PermissionName[],
  forWhat: string,
): void {
  const missing = missingBotPermissions(channel, needed);
  if (missing.length === 0) return;
  const list = missing.length === 1 ? missing[0]! : `${missing.slice(0, -1).join(', ')} and ${missing.at(-1)}`;
  throw new UserError(
    `I can't ${forWhat} in <#${channel.id}>: I am missing the ${list} permission${missing.length === 1 ? '' : 's'} there. ` +
      `Grant ${missing.length === 1 ? 'it' : 'them'} to my role in the channel settings (Permissions), then try again.`,
  );
}
