import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  MessageFlags,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { feedOf } from '../src/discord/feedCommands.js';
import { FEEDBACK_BUTTON, feedMessageBody } from '../src/discord/feedSender.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import { autocompleteTimeZones } from '../src/discord/timeZones.js';
import type { BotServices } from '../src/discord/types.js';
import { FEED_FREQUENCIES, FEED_LIMITS, type FeedFrequency } from '../src/feed/store.js';
import { parseTimeOfDay, parseTimezone } from '../src/trending/subscriptions.js';

export const data = new SlashCommandBuilder()
  .setName('feed')
  .setDescription('Your research feed: when it comes, what is waiting, your feedback and your data')
  .addSubcommand((sub) =>
    sub
      .setName('settings')
      .setDescription('When your papers come by DM (default daily at 09:00 UTC)')
      .addStringOption((option) =>
        option
          .setName('frequency')
          .setDescription('instant, daily or weekly (Mondays)')
          .addChoices(...FEED_FREQUENCIES.map((frequency) => ({ name: frequency, value: frequency }))),
      )
      .addStringOption((option) => option.setName('time').setDescription('Time of day, 24-hour HH:MM').setMaxLength(5))
      .addStringOption((option) =>
        option.setName('timezone').setDescription('e.g. Europe/Paris').setMaxLength(64).setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) => sub.setName('now').setDescription('What matched your follows since your last delivery'))
  .addSubcommand((sub) => sub.setName('reset').setDescription('Forget your 👍/👎 feedback (your follows stay)'))
  .addSubcommand((sub) =>
    sub.setName('forget').setDescription('Delete everything the bot stores about you: follows, feedback, deliveries'),
  );

const FORGET_CONFIRM = 'feed:forget:confirm';
const ephemeral = (content: string) =>
  ({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS }) as const;

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const feed = feedOf(services);
  const userId = interaction.user.id;
  switch (interaction.options.getSubcommand()) {
    case 'settings': {
      const frequency = interaction.options.getString('frequency') as FeedFrequency | null;
      const time = interaction.options.getString('time');
      const timezone = interaction.options.getString('timezone');
      const settings = feed.updateSettings(userId, {
        ...(frequency && FEED_FREQUENCIES.includes(frequency) ? { frequency } : {}),
        ...(time ? { time: parseTimeOfDay(time) } : {}),
        ...(timezone ? { timezone: parseTimezone(timezone) } : {}),
      });
      const when =
        settings.frequency === 'instant'
          ? 'as soon as a paper matches (batched, within a minute)'
          : `${settings.frequency === 'weekly' ? 'every Monday' : 'every day'} at ${settings.time} ${settings.timezone}`;
      await interaction.reply(ephemeral(`Your feed comes by DM ${when}.`));
      return;
    }
    case 'now': {
      const unseen = feed.takeUnseen(userId);
      if (unseen.length === 0) {
        await interaction.reply(ephemeral('Nothing new has matched your follows since your last delivery.'));
        return;
      }
      const shown = unseen.slice(0, FEED_LIMITS.papersPerDelivery);
      const body = feedMessageBody({ papers: shown, more: 0 });
      const beyond = unseen.length - shown.length;
      await interaction.reply({
        ...body,
        content:
          beyond > 0 ? `${body.content}\n(${beyond} more matched; these are the best ${shown.length}.)` : body.content,
        flags: MessageFlags.Ephemeral,
        allowedMentions: NO_MENTIONS,
      });
      return;
    }
    case 'reset': {
      const forgotten = feed.resetFeedback(userId);
      await interaction.reply(ephemeral(`Forgot ${forgotten} 👍/👎; your follows stay.`));
      return;
    }
    default: {
      await interaction.reply({
        ...ephemeral(
          'This deletes your follows, your feedback, the papers waiting for you, your delivery history and your settings. It cannot be undone.',
        ),
        components: [
          new ActionRowBuilder<ButtonBuilder>().addComponents(
            new ButtonBuilder().setCustomId(FORGET_CONFIRM).setLabel('Delete everything').setStyle(ButtonStyle.Danger),
          ),
        ],
      });
    }
  }
}

/** 👍/👎 on a delivered paper, and the confirmation of `/feed forget`. */
export async function button(interaction: ButtonInteraction, services: BotServices): Promise<void> {
  const feed = feedOf(services);
  const userId = interaction.user.id;
  if (interaction.customId === FORGET_CONFIRM) {
    const removed = feed.forget(userId);
    const total = Object.values(removed).reduce((sum, count) => sum + count, 0);
    await interaction.reply(ephemeral(`Done: deleted ${total} records about you. You follow nothing now.`));
    return;
  }
  const liked = interaction.customId.startsWith(FEEDBACK_BUTTON.like);
  const paperId = interaction.customId.slice((liked ? FEEDBACK_BUTTON.like : FEEDBACK_BUTTON.dislike).length);
  // On a channel's daily post the click trains the channel's ranking, not the member's.
  const subject = interaction.inGuild() ? `channel:${interaction.channelId}` : userId;
  feed.recordFeedback(subject, paperId, liked ? 'like' : 'dislike');
  await interaction.reply(
    ephemeral(liked ? '👍 Noted: more like this.' : '👎 Noted: less like this. (/feed reset forgets feedback.)'),
  );
}

export function autocomplete(interaction: AutocompleteInteraction): Promise<void> {
  return autocompleteTimeZones(interaction);
}
