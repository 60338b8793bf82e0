import {
  ActionRowBuilder,
  ButtonBuilder,
  ButtonStyle,
  InteractionContextType,
  SlashCommandBuilder,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
} from 'discord.js';
import { UserError } from '../src/errors.js';
import { admitIntake, memberStanding, missingAdderRole, withLeftOut } from '../src/discord/intakeLimits.js';
import { addMixed, renderIntakeReply, sendIntakeReply } from '../src/discord/paperIntake.js';
import { autocompletePapers, declarePaperOption, paperName, paperOption } from '../src/discord/paperOptions.js';
import { renderPaperList } from '../src/discord/render.js';
import { notInLibrary, relatedKind, renderRelated, RELATED_LIMIT } from '../src/discord/renderGraph.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder()
  .setName('related')
  .setDescription("A paper's references, the papers citing it, or the library's papers most like it")
  .setContexts(InteractionContextType.Guild, InteractionContextType.BotDM)
  .addStringOption((option) => declarePaperOption(option, 'paper', 'Title or id (start typing for suggestions)', true))
  .addStringOption((option) =>
    option
      .setName('kind')
      .setDescription('What to list (default: references)')
      .addChoices(
        { name: 'references', value: 'references' },
        { name: 'citations', value: 'citations' },
        { name: 'similar', value: 'similar' },
      ),
  );

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  paperName(interaction, 'paper');
  const kind = relatedKind(interaction.options.getString('kind') ?? 'references');
  await interaction.deferReply();
  const paper = await paperOption(interaction, services, 'paper');
  if (kind === 'similar') {
    const { hits } = await services.retriever.retrieve(`${paper.title}\n\n${paper.abstract}`, { k: RELATED_LIMIT + 1 });
    const similar = hits.filter((hit) => hit.paper.id !== paper.id).slice(0, RELATED_LIMIT);
    const embed = renderPaperList(
      `Papers like “${paper.title}”`,
      similar,
      'No other paper in the library is close to this one.',
    );
    await interaction.editReply({ embeds: [embed], allowedMentions: NO_MENTIONS });
    return;
  }
  if (!services.paperGraph) throw new UserError('References and citations are not available in this bot.');
  const graph = await services.paperGraph(paper);
  const missing = notInLibrary(graph, paper, kind);
  const button = new ButtonBuilder()
    .setCustomId(`related:add:${kind}:${paper.id}`)
    .setStyle(ButtonStyle.Primary)
    .setLabel(`Add the ${missing.length} not in the library`);
  await interaction.editReply({
    embeds: [renderRelated(graph, paper, kind, RELATED_LIMIT)],
    components: missing.length > 0 ? [new ActionRowBuilder<ButtonBuilder>().addComponents(button).toJSON()] : [],
    allowedMentions: NO_MENTIONS,
  });
}

/** "Add the N not in the library": through the intake path and its limits, as `/add` of their arXiv ids. */
export async function button(interaction: ButtonInteraction, services: BotServices): Promise<void> {
  const [, action, kindName, ...idParts] = interaction.customId.split(':');
  if (action !== 'add' || !services.paperGraph) throw new UserError('This button no longer works; run /related again.');
  const kind = relatedKind(kindName ?? '');
  if (kind === 'similar') throw new UserError('This button no longer works; run /related again.');
  const paper = await services.resolvePaper(idParts.join(':'));
  const missing = notInLibrary(await services.paperGraph(paper), paper, kind);
  if (missing.length === 0) throw new UserError('Every paper of that list with an arXiv id is in the library now.');
  const { admitted, leftOut, turn } = admitIntake(
    services.intakeLimits,
    {
      userId: interaction.user.id,
      inServer: interaction.inGuild(),
      command: '/related',
      missingRole: missingAdderRole(
        services.linkChannels,
        interaction.guildId,
        memberStanding(interaction.member, interaction.memberPermissions),
      ),
    },
    missing,
  );
  try {
    await interaction.deferReply();
    await turn.started;
    const outcomes = await addMixed(
      admitted.map((input) => ({ kind: 'reference', input })),
      (items) => services.addPapers(items),
    );
    await sendIntakeReply(interaction, withLeftOut(renderIntakeReply(outcomes), leftOut), outcomes);
  } finally {
    turn.release();
  }
}

export function autocomplete(interaction: AutocompleteInteraction, services: BotServices): Promise<void> {
  return autocompletePapers(interaction, services);
}
