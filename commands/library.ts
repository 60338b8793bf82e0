import {
  ChannelType,
  MessageFlags,
  PermissionFlagsBits,
  SlashCommandBuilder,
  type ChatInputCommandInteraction,
  type GuildBasedChannel,
} from 'discord.js';
import { UserError } from '../src/errors.js';
import { LINK_PICKUP_PERMISSIONS, requireBotPermissions } from '../src/discord/permissions.js';
import { DISCORD_LIMITS, paperLink, truncate } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

const RECENT_PAPERS = 5;
const TEXT_CHANNELS = [ChannelType.GuildText, ChannelType.GuildAnnouncement, ChannelType.PublicThread] as const;

/**
 * `/library status` is for everyone, so the command carries no default member permission; switching link pickup
 * (`/library links on|off`) and choosing who may add papers (`/library adders`) check Manage Server when they run.
 */
export const data = new SlashCommandBuilder()
  .setName('library')
  .setDescription('The paper library: link pickup in channels, and what it holds')
  .addSubcommandGroup((group) =>
    group
      .setName('links')
      .setDescription('Add the papers linked in a channel automatically (Manage Server)')
      .addSubcommand((subcommand) =>
        subcommand
          .setName('on')
          .setDescription('Add every paper linked or attached in a channel, reacting 📚 / ✅ (Manage Server)')
          .addChannelOption((option) =>
            option
              .setName('channel')
              .setDescription('Which channel (default: this one)')
              .addChannelTypes(...TEXT_CHANNELS),
          ),
      )
      .addSubcommand((subcommand) =>
        subcommand
          .setName('off')
          .setDescription('Stop adding the papers linked in a channel (Manage Server)')
          .addChannelOption((option) =>
            option
              .setName('channel')
              .setDescription('Which channel (default: this one)')
              .addChannelTypes(...TEXT_CHANNELS),
          ),
      ),
  )
  .addSubcommand((subcommand) =>
    subcommand
      .setName('adders')
      .setDescription('Who may add papers here: members with a role, or everyone (Manage Server)')
      .addRoleOption((option) =>
        option.setName('role').setDescription('Only members with this role may add papers (leave out: everyone)'),
      ),
  )
  .addSubcommand((subcommand) =>
    subcommand.setName('status').setDescription("The library's size, latest papers and link-pickup channels"),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  if (!interaction.inGuild()) throw new UserError('The library is managed in a server, not in direct messages.');
  const subcommand = interaction.options.getSubcommand(true);
  let content: string;
  if (subcommand === 'status') {
    // The library's figures come from a library worker: acknowledge first.
    await interaction.deferReply({ flags: MessageFlags.Ephemeral });
    content = await status(interaction.guildId, services);
    await interaction.editReply({ content: truncate(content, DISCORD_LIMITS.content), allowedMentions: NO_MENTIONS });
    return;
  } else if (subcommand === 'adders') {
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
      throw new UserError('You need the Manage Server permission to choose who may add papers.');
    }
    const role = interaction.options.getRole('role');
    services.linkChannels.setAdderRole(interaction.guildId, role?.id ?? null, interaction.user.id);
    content = role
      ? `Only members with the <@&${role.id}> role (and members with Manage Server) may add papers now: \`/add\`, the message command and link pickup.`
      : 'Everyone may add papers now.';
  } else {
    if (!interaction.memberPermissions?.has(PermissionFlagsBits.ManageGuild)) {
      throw new UserError('You need the Manage Server permission to switch link pickup on or off.');
    }
    const channelId = interaction.options.getChannel('channel')?.id ?? interaction.channelId;
    // The cached channel carries its permission overwrites; one the bot cannot see is not cached at all.
    const channel: GuildBasedChannel | undefined = interaction.guild?.channels.cache.get(channelId);
    if (!channel)
      throw new UserError(`I cannot see <#${channelId}>: give me the View Channel permission there, then try again.`);
    if (subcommand === 'on') {
      requireBotPermissions(channel, LINK_PICKUP_PERMISSIONS, 'pick up paper links');
      const changed = services.linkChannels.enable(interaction.guildId, channel.id, interaction.user.id);
      content = changed
        ? `Link pickup is on in <#${channel.id}>: papers linked there (arXiv, Hugging Face, arXiv DOIs) and PDFs posted there are added to the library. I react 📚 when I add one and ✅ when it was already there.`
        : `Link pickup was already on in <#${channel.id}>.`;
    } else {
      const changed = services.linkChannels.disable(channel.id);
      content = changed ? `Link pickup is off in <#${channel.id}>.` : `Link pickup was not on in <#${channel.id}>.`;
    }
  }
  await interaction.reply({
    content: truncate(content, DISCORD_LIMITS.content),
    flags: MessageFlags.Ephemeral,
    allowedMentions: NO_MENTIONS,
  });
}

async function status(guildId: string, services: BotServices): Promise<string> {
  const channels = services.linkChannels.list(guildId);
  const [recent, library] = await Promise.all([services.recentPapers(RECENT_PAPERS), services.describeLibrary()]);
  const lines = [`**${library.papers}** papers in the library.`];
  lines.push(
    channels.length
      ? `Link pickup is on in ${channels.map((channel) => `<#${channel.channelId}>`).join(', ')}.`
      : 'Link pickup is off in every channel (`/library links on` switches it on).',
  );
  const adderRole = services.linkChannels.adderRole(guildId);
  lines.push(
    adderRole
      ? `Papers may be added by members with the <@&${adderRole}> role.`
      : 'Everyone may add papers (`/library adders` can limit it to a role).',
  );
  if (recent.length) {
    lines.push('Latest additions:');
    for (const paper of recent) lines.push(`- ${paperLink(paper, 150)}`);
  }
  return lines.join('\n');
}
