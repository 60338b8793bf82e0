import {
  ChannelType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { UserError } from '../src/errors.js';
import { acquireIfModelRuns } from '../src/discord/limits.js';
import { DISCORD_LIMITS, truncate } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import { autocompleteTimeZones } from '../src/discord/timeZones.js';
import { requireBotPermissions, TRENDING_POST_PERMISSIONS } from '../src/discord/permissions.js';
import type { BotServices } from '../src/discord/types.js';
import { formatDigestEmbed } from '../src/trending/format.js';
import { isIsoDate, SourceError } from '../src/papers/sources/index.js';
import type { SubscriptionStatus } from '../src/trending/runtime.js';
import { parseTopics, SUBSCRIPTION_LIMITS } from '../src/trending/subscriptions.js';

/**
 * `/trending now` is for everyone, so the command cannot carry `setDefaultMemberPermissions` (it applies to every
 * subcommand); `subscribe`, `unsubscribe` and `status` check Manage Server at run time instead.
 */
export const data = new SlashCommandBuilder()
  .setName('trending')
  .setDescription("Today's trending ML papers, and a daily post of them")
  .addSubcommand((subcommand) =>
    subcommand
      .setName('now')
      .setDescription("Show a day's trending papers")
      .addStringOption((option) =>
        option.setName('date').setDescription('The day, YYYY-MM-DD (default: today)').setMinLength(10).setMaxLength(10),
      ),
  )
  .addSubcommand((subcommand) =>
    subcommand
      .setName('subscribe')
      .setDescription('Post the trending papers in a channel every day (Manage Server)')
      .addChannelOption((option) =>
        option
          .setName('channel')
          .setDescription('Where to post')
          .setRequired(true)
          .addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      )
      .addStringOption((option) =>
        option
          .setName('time')
          .setDescription('Time of day, 24-hour HH:MM, e.g. 09:30')
          .setRequired(true)
          .setMaxLength(5),
      )
      .addStringOption((option) =>
        option
          .setName('timezone')
          .setDescription('Time zone, e.g. Europe/Paris')
          .setRequired(true)
          .setMaxLength(64)
          .setAutocomplete(true),
      )
      .addStringOption((option) =>
        option
          .setName('topics')
          .setDescription('Only papers about these, comma-separated, e.g. agents, video')
          .setMaxLength(400),
      )
      .addStringOption((option) =>
        option
          .setName('exclude')
          .setDescription('Never papers mentioning these, comma-separated, e.g. video, robotics')
          .setMaxLength(400),
      )
      .addIntegerOption((option) =>
        option
          .setName('count')
          .setDescription('How many papers (default 5)')
          .setMinValue(SUBSCRIPTION_LIMITS.minCount)
          .setMaxValue(SUBSCRIPTION_LIMITS.maxCount),
      )
      .addBooleanOption((option) => option.setName('thread').setDescription('Open a discussion thread on each post')),
  )
  .addSubcommand((subcommand) =>
    subcommand
      .setName('unsubscribe')
      .setDescription('Stop the daily post (Manage Server)')
      .addChannelOption((option) =>
        option
          .setName('channel')
          .setDescription('Which channel (needed when several are subscribed)')
          .addChannelTypes(ChannelType.GuildText, ChannelType.GuildAnnouncement),
      ),
  )
  .addSubcommand((subcommand) =>
    subcommand.setName('status').setDescription("This server's daily posts (Manage Server)"),
  );

function trendingOf(services: BotServices): NonNullable<BotServices['trending']> {
  if (!services.trending) throw new UserError('Trending posts are not enabled on this bot.');
  return services.trending;
}

function requireManageServer(interaction: ChatInputCommandInteraction): string {
  if (!interaction.inGuild())
    throw new UserError('Daily trending posts are set up in a server, not in direct messages.');
  if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
    throw new UserError('You need the Manage Server permission to change or see trending subscriptions.');
  }
  return interaction.guildId;
}

const timestamp = (date: Date | undefined) => (date ? `<t:${Math.floor(date.getTime() / 1000)}:f>` : 'not scheduled');

function describeStatus({ subscription, nextRunAt, lastPost }: SubscriptionStatus): string {
  const parts = [
    `<#${subscription.channelId}>`,
    `${subscription.time} ${subscription.timezone}`,
    `top ${subscription.count}`,
    subscription.topics.length ? `topics: ${subscription.topics.join(', ')}` : 'all topics',
  ];
  if (subscription.exclude.length) parts.push(`not: ${subscription.exclude.join(', ')}`);
  if (subscription.thread) parts.push('with a thread');
  parts.push(
    subscription.enabled
      ? `next: ${timestamp(nextRunAt)}`
      : `**disabled**: ${subscription.disabledReason ?? 'unknown reason'}`,
  );
  if (lastPost) parts.push(`last: ${lastPost.localDate} ${lastPost.status}`);
  return parts.join(' · ');
}

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const trending = trendingOf(services);
  const subcommand = interaction.options.getSubcommand(true);
  if (subcommand === 'now') {
    const date = interaction.options.getString('date')?.trim();
    if (date !== undefined && !isIsoDate(date))
      throw new UserError(`"${date}" is not a date; use YYYY-MM-DD such as 2025-07-29`);
    const slot = acquireIfModelRuns(services, interaction.user.id);
    try {
      await interaction.deferReply();
      const digest = await trending.digest({ date }).catch((error: unknown) => {
        if (error instanceof SourceError)
          throw new UserError(`Could not fetch the trending papers just now (${error.message}). Try again later.`, {
            cause: error,
          });
        throw error;
      });
      await interaction.editReply({
        embeds: [formatDigestEmbed(digest, `papercord trending · ${digest.date}`)],
        allowedMentions: NO_MENTIONS,
      });
    } finally {
      slot.release();
    }
    return;
  }

  const guildId = requireManageServer(interaction);
  let content: string;
  if (subcommand === 'subscribe') {
    const channel = interaction.options.getChannel('channel', true, [
      ChannelType.GuildText,
      ChannelType.GuildAnnouncement,
    ]);
    const thread = interaction.options.getBoolean('thread') ?? undefined;
    // Checked now, naming what is missing, rather than failing at the first post hours later.
    const cached = interaction.guild?.channels.cache.get(channel.id);
    if (cached)
      requireBotPermissions(
        cached,
        thread ? [...TRENDING_POST_PERMISSIONS, 'Create Public Threads'] : TRENDING_POST_PERMISSIONS,
        'post the daily trending papers',
      );
    const status = trending.subscribe({
      guildId,
      channelId: channel.id,
      time: interaction.options.getString('time', true),
      timezone: interaction.options.getString('timezone', true),
      topics: parseTopics(interaction.options.getString('topics')),
      exclude: parseTopics(interaction.options.getString('exclude')),
      count: interaction.options.getInteger('count') ?? undefined,
      thread,
    });
    content = `Subscribed. ${describeStatus(status)}`;
  } else if (subcommand === 'unsubscribe') {
    const channelId = interaction.options.getChannel('channel')?.id;
    const subscribed = trending.status(guildId);
    if (!channelId && subscribed.length > 1) {
      const channels = subscribed.map((status) => `<#${status.subscription.channelId}>`).join(', ');
      throw new UserError(`Several channels get the daily post (${channels}); say which one with the channel option.`);
    }
    const removed = trending.unsubscribe(guildId, channelId);
    if (removed.length === 0) {
      throw new UserError(
        channelId ? `<#${channelId}> has no daily trending post.` : 'This server has no daily trending post.',
      );
    }
    content = `Unsubscribed ${removed.map((subscription) => `<#${subscription.channelId}>`).join(', ')}: no more daily trending posts there.`;
  } else {
    const statuses = trending.status(guildId);
    content = statuses.length
      ? fitLines(statuses.map(describeStatus), DISCORD_LIMITS.content)
      : 'This server has no daily trending post. Set one up with `/trending subscribe`.';
  }
  // Ten 80-character topics make one line long: a reply over 2,000 characters would be refused whole.
  await interaction.reply({
    content: truncate(content, DISCORD_LIMITS.content),
    flags: MessageFlags.Ephemeral,
    allowedMentions: NO_MENTIONS,
  });
}

/** Whole lines (each cut to fit) up to `max` characters, the rest counted in a last "… and N more". */
function fitLines(lines: string[], max: number): string {
  const kept: string[] = [];
  for (const [index, line] of lines.entries()) {
    const more = index < lines.length - 1 ? `\n… and ${lines.length - index - 1} more`.length : 0;
    const room = max - kept.join('\n').length - (kept.length ? 1 : 0) - more;
    if (room < Math.min(line.length, 200)) {
      kept.push(`… and ${lines.length - index} more`);
      break;
    }
    kept.push(truncate(line, room));
  }
  return kept.join('\n');
}

/** Time zones matching what has been typed, e.g. `paris` → Europe/Paris, `utc` → UTC. */
export function autocomplete(interaction: AutocompleteInteraction): Promise<void> {
  return autocompleteTimeZones(interaction);
}
