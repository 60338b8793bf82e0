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
import { authorCandidates, feedOf, followChoices } from '../src/discord/feedCommands.js';
import { autocompletePapers, declarePaperOption, paperName, paperOption } from '../src/discord/paperOptions.js';
import { truncate } from '../src/discord/render.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';
import { suggestCategories, validateCategory } from '../src/feed/categories.js';
import { describeFollow, FEED_LIMITS, parseExclusions } from '../src/feed/store.js';
import type { FollowInput } from '../src/feed/types.js';

export const data = new SlashCommandBuilder()
  .setName('follow')
  .setDescription('Follow topics, authors, categories, papers and questions: new papers come to you by DM')
  .addSubcommand((sub) =>
    sub
      .setName('topic')
      .setDescription('A line of work, matched by meaning and words')
      .addStringOption((option) =>
        option
          .setName('text')
          .setDescription('e.g. diffusion language models')
          .setRequired(true)
          .setMaxLength(FEED_LIMITS.topicChars),
      )
      .addStringOption((option) =>
        option
          .setName('exclude')
          .setDescription('Words or phrases that rule a paper out, comma-separated, e.g. video')
          .setMaxLength(FEED_LIMITS.excludeChars),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('author')
      .setDescription('Papers by an author (someone with no paper here yet is fine)')
      .addStringOption((option) =>
        option
          .setName('name')
          .setDescription('e.g. Lena Fischer')
          .setRequired(true)
          .setMaxLength(FEED_LIMITS.authorChars),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('category')
      .setDescription('An arXiv category, e.g. cs.CL')
      .addStringOption((option) =>
        option
          .setName('code')
          .setDescription('The arXiv category code')
          .setRequired(true)
          .setMaxLength(20)
          .setAutocomplete(true),
      ),
  )
  .addSubcommand((sub) =>
    sub
      .setName('paper')
      .setDescription('More like this paper')
      .addStringOption((option) => declarePaperOption(option, 'paper', 'Title or arXiv id (start typing)', true)),
  )
  .addSubcommand((sub) =>
    sub
      .setName('question')
      .setDescription('A watched question: papers that would answer it')
      .addStringOption((option) =>
        option.setName('text').setDescription('The question').setRequired(true).setMaxLength(FEED_LIMITS.questionChars),
      ),
  )
  .addSubcommand((sub) => sub.setName('list').setDescription('What you follow'))
  .addSubcommand((sub) =>
    sub
      .setName('remove')
      .setDescription('Stop following something')
      .addStringOption((option) =>
        option
          .setName('item')
          .setDescription('The follow (start typing)')
          .setRequired(true)
          .setMaxLength(100)
          .setAutocomplete(true),
      ),
  );

const ephemeral = (content: string) =>
  ({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS }) as const;

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const feed = feedOf(services);
  const userId = interaction.user.id;
  const subcommand = interaction.options.getSubcommand();
  if (subcommand === 'list') {
    const follows = feed.follows(userId);
    const lines = follows.map((follow, index) => `${index + 1}. ${describeFollow(follow)}`);
    await interaction.reply(
      ephemeral(
        follows.length === 0
          ? 'You follow nothing yet: try /follow topic, /follow author or /follow question.'
          : truncate(`You follow (${follows.length} of ${FEED_LIMITS.followsPerUser}):\n${lines.join('\n')}`, 2000),
      ),
    );
    return;
  }
  if (subcommand === 'remove') {
    const removed = feed.unfollow(userId, interaction.options.getString('item', true));
    await interaction.reply(
      ephemeral(
        removed ? `You no longer follow ${describeFollow(removed)}.` : 'You do not follow that; see /follow list.',
      ),
    );
    return;
  }
  if (subcommand === 'author') return followAuthor(interaction, services);
  // Looking up a paper may wait for a library worker.
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const input = await followInput(interaction, services, subcommand);
  const follow = feed.follow(input);
  await interaction.editReply({
    content: followedMessage(describeFollow(follow), services, userId),
    allowedMentions: NO_MENTIONS,
  });
}

async function followInput(
  interaction: ChatInputCommandInteraction,
  services: BotServices,
  subcommand: string,
): Promise<FollowInput> {
  const userId = interaction.user.id;
  switch (subcommand) {
    case 'topic':
      return {
        userId,
        kind: 'topic',
        text: interaction.options.getString('text', true).trim(),
        exclude: parseExclusions(interaction.options.getString('exclude')),
      };
    case 'category':
      return { userId, kind: 'category', code: validateCategory(interaction.options.getString('code', true)) };
    case 'paper': {
      paperName(interaction, 'paper');
      const paper = await paperOption(interaction, services, 'paper');
      return { userId, kind: 'paper', paperId: paper.id, title: paper.title };
    }
    default:
      return { userId, kind: 'question', text: interaction.options.getString('text', true).trim() };
  }
}

function followedMessage(what: string, services: BotServices, userId: string): string {
  const settings = feedOf(services).settings(userId);
  const when =
    settings.frequency === 'instant'
      ? 'as soon as they arrive'
      : `${settings.frequency} at ${settings.time} ${settings.timezone}`;
  return `You now follow ${what}. New papers come by DM, ${when} (change it with /feed settings).`;
}

/**
 * Names are ambiguous: when the library's recent papers hold several people the name could be, the member picks
 * one (a button per person, with their latest paper); with none or one, the name is followed as typed.
 */
async function followAuthor(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  const name = interaction.options.getString('name', true).trim();
  await interaction.deferReply({ flags: MessageFlags.Ephemeral });
  const candidates = await authorCandidates(services, name);
  if (candidates.length > 1) {
    const lines = candidates.map(
      (candidate) =>
        `• **${candidate.name}**: ${candidate.papers.map((title) => `“${truncate(title, 80)}”`).join('; ')}`,
    );
    const buttons = candidates.slice(0, 5).map((candidate) =>
      new ButtonBuilder()
        .setCustomId(`follow:author:${candidate.name}`.slice(0, 100))
        .setLabel(truncate(`Follow ${candidate.name}`, 80))
        .setStyle(ButtonStyle.Primary),
    );
    await interaction.editReply({
      content: truncate(`Several people in the library could be “${name}”. Which one?\n${lines.join('\n')}`, 2000),
      components: [new ActionRowBuilder<ButtonBuilder>().addComponents(buttons)],
      allowedMentions: NO_MENTIONS,
    });
    return;
  }
  const follow = feedOf(services).follow({
    userId: interaction.user.id,
    kind: 'author',
    name: candidates[0]?.name ?? name,
  });
  const waiting =
    candidates.length === 0 ? ' Nobody by that name is in the library yet: their first paper will come to you.' : '';
  await interaction.editReply({
    content: followedMessage(describeFollow(follow), services, interaction.user.id) + waiting,
    allowedMentions: NO_MENTIONS,
  });
}

/** `follow:author:<name>`: the member picked one of several authors. */
export async function button(interaction: ButtonInteraction, services: BotServices): Promise<void> {
  const name = interaction.customId.slice('follow:author:'.length);
  const follow = feedOf(services).follow({ userId: interaction.user.id, kind: 'author', name });
  await interaction.reply(ephemeral(followedMessage(describeFollow(follow), services, interaction.user.id)));
}

export async function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  const focused = interaction.options.getFocused(true);
  if (focused.name === 'paper') return autocompletePapers(interaction, services);
  if (focused.name === 'code') {
    const choices = suggestCategories(focused.value.slice(0, 20), 25).map((category) => ({
      name: truncate(`${category.code}: ${category.name}`, 100),
      value: category.code,
    }));
    await interaction.respond(choices);
    return;
  }
  await interaction.respond(followChoices(feedOf(services).follows(interaction.user.id), focused.value));
}
