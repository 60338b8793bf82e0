import { SlashCommandBuilder, type ChatInputCommandInteraction } from 'discord.js';
import { NO_MENTIONS } from '../src/discord/router.js';
import type { BotServices } from '../src/discord/types.js';

export const data = new SlashCommandBuilder().setName('about').setDescription('What this bot knows and runs on');

export async function execute(interaction: ChatInputCommandInteraction, services: BotServices): Promise<void> {
  await interaction.deferReply();
  const library = await services.describeLibrary();
  await interaction.editReply({
    embeds: [
      {
        title: 'papercord',
        description: 'A self-hosted research assistant for ML papers. Answers cite the library with [n].',
        fields: [
          { name: 'Library', value: `${library.papers} papers`, inline: true },
          { name: 'Embedder', value: library.embedderDescription, inline: true },
          { name: 'Model', value: services.answers.modelLabel, inline: true },
          { name: 'Uptime', value: formatUptime(Date.now() - services.startedAt.getTime()), inline: true },
        ],
      },
    ],
    allowedMentions: NO_MENTIONS,
  });
}

export function formatUptime(ms: number): string {
  const minutes = Math.floor(ms / 60_000);
  const days = Math.floor(minutes / 1440);
  const hours = Math.floor((minutes % 1440) / 60);
  const parts = [days ? `${days} d` : '', hours ? `${hours} h` : '', `${minutes % 60} min`].filter(Boolean);
  return parts.join(' ');
}
