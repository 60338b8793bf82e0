import {
  MessageFlags,
  type AutocompleteInteraction,
  type ButtonInteraction,
  type ChatInputCommandInteraction,
  type Interaction,
  type MessageContextMenuCommandInteraction,
} from 'discord.js';
import { describeError, isUserError, UserError } from '../errors.js';
import type { Logger } from '../logger.js';
import { isMessageMenuCommand, type BotCommand, type BotServices } from './types.js';

/** What users see when a command fails because of a bug; the details go to the log, never to Discord. */
export const APOLOGY = 'Sorry, something went wrong on my side. It has been logged; please try again later.';

/** Every message the bot sends carries this: user and paper text must never ping anyone. */
export const NO_MENTIONS = { parse: [] } as const;

/**
 * Routes chat-input commands and autocomplete to the command modules. The one place command errors are handled:
 * a UserError is shown to its user as-is, ephemerally; anything else is logged with context and shown as an apology.
 */
export function createInteractionRouter(
  commands: ReadonlyMap<string, BotCommand>,
  services: BotServices,
): (interaction: Interaction) => Promise<void> {
  const logger = services.logger;
  return async (interaction) => {
    if (interaction.isMessageContextMenuCommand()) {
      const command = commands.get(interaction.commandName);
      if (!command || !isMessageMenuCommand(command)) {
        logger.warn(
          { command: interaction.commandName },
          'context-menu interaction for a command this bot does not have',
        );
        await interaction
          .reply({
            content: `"${interaction.commandName}" is not available in this version of the bot.`,
            flags: MessageFlags.Ephemeral,
            allowedMentions: NO_MENTIONS,
          })
          .catch((error: unknown) => logger.warn({ err: describeError(error) }, 'could not answer an unknown command'));
        return;
      }
      try {
        await command.execute(interaction, services);
      } catch (error) {
        await reportCommandError(interaction, error, logger);
      }
    } else if (interaction.isChatInputCommand()) {
      const found = commands.get(interaction.commandName);
      const command = found && !isMessageMenuCommand(found) ? found : undefined;
      if (!command) {
        // Registered commands and this build disagree: someone has not run deploy-commands since an update.
        logger.warn({ command: interaction.commandName }, 'interaction for a command this bot does not have');
        await interaction
          .reply({
            content: `/${interaction.commandName} is not available in this version of the bot.`,
            flags: MessageFlags.Ephemeral,
            allowedMentions: NO_MENTIONS,
          })
          .catch((error: unknown) => logger.warn({ err: describeError(error) }, 'could not answer an unknown command'));
        return;
      }
      try {
        await command.execute(interaction, services);
      } catch (error) {
        await reportCommandError(interaction, error, logger);
      }
      await tellAboutClosedDms(interaction, services);
    } else if (interaction.isButton()) {
      // A button's custom id starts with the name of the command that handles it: `feed:like:<paper id>`.
      const found = commands.get(interaction.customId.split(':', 1)[0]!);
      const command = found && !isMessageMenuCommand(found) ? found : undefined;
      try {
        if (!command?.button) throw new UserError('This button no longer does anything in this version of the bot.');
        await command.button(interaction, services);
      } catch (error) {
        await reportCommandError(interaction, error, logger);
      }
    } else if (interaction.isAutocomplete()) {
      const found = commands.get(interaction.commandName);
      const command = found && !isMessageMenuCommand(found) ? found : undefined;
      try {
        await command?.autocomplete?.(interaction, services);
      } catch (error) {
        await reportAutocompleteError(interaction, error, logger);
      }
    }
  };
}

/** Once after a feed DM was refused, the member's next command says so (ephemerally): they can open DMs or use /feed now. */
async function tellAboutClosedDms(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  if (!interaction.replied && !interaction.deferred) return;
  let closed = false;
  try {
    closed = services.feed?.takeDmsClosedNotice(interaction.user.id) ?? false;
  } catch (error) {
    services.logger.warn({ err: describeError(error) }, 'could not read the feed notice');
  }
  if (!closed) return;
  await interaction
    .followUp({
      content: CLOSED_DMS_NOTICE,
      flags: MessageFlags.Ephemeral,
      allowedMentions: NO_MENTIONS,
    })
    .catch((error: unknown) =>
      services.logger.warn({ err: describeError(error) }, 'could not tell a member their DMs are closed'),
    );
}

export const CLOSED_DMS_NOTICE =
  "I could not send you your research feed: your DMs are closed to me. Your papers are kept: see them with /feed now, or allow direct messages from this server's members and run /feed settings to resume delivery.";

async function reportCommandError(
  interaction: ChatInputCommandInteraction | MessageContextMenuCommandInteraction | ButtonInteraction,
  error: unknown,
  logger: Logger,
): Promise<void> {
  const userFacing = isUserError(error);
  if (!userFacing) {
    logger.error(
      {
        err: error,
        command: interaction.isButton() ? interaction.customId : interaction.commandName,
        interaction: interaction.id,
        user: interaction.user.id,
        guild: interaction.guildId,
      },
      'command failed',
    );
  }
  const content = userFacing ? error.message : APOLOGY;
  try {
    if (interaction.deferred && interaction.ephemeral) {
      await interaction.editReply({ content, embeds: [], allowedMentions: NO_MENTIONS });
    } else if (interaction.deferred || interaction.replied) {
      // The public "thinking…" reply would otherwise stay forever; the error itself is for the user only.
      if (interaction.deferred && !interaction.replied) await interaction.deleteReply().catch(() => undefined);
      await interaction.followUp({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    } else {
      await interaction.reply({ content, flags: MessageFlags.Ephemeral, allowedMentions: NO_MENTIONS });
    }
  } catch (replyError) {
    logger.warn(
      {
        err: describeError(replyError),
        command: interaction.isButton() ? interaction.customId : interaction.commandName,
      },
      'could not tell the user about an error',
    );
  }
}

async function reportAutocompleteError(
  interaction: AutocompleteInteraction,
  error: unknown,
  logger: Logger,
): Promise<void> {
  logger.error({ err: error, command: interaction.commandName, interaction: interaction.id }, 'autocomplete failed');
  if (!interaction.responded) await interaction.respond([]).catch(() => undefined);
}
