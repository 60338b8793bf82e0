import type { AutocompleteInteraction } from 'discord.js';

/**
 * Node's list of zones has neither UTC nor the current names of renamed ones (it lists Asia/Calcutta, Europe/Kiev);
 * these are offered too, and `parseTimezone` accepts them all.
 */
const ZONES_NOT_LISTED = [
  'UTC',
  'Asia/Kolkata',
  'Europe/Kyiv',
  'Asia/Kathmandu',
  'Asia/Yangon',
  'Asia/Ho_Chi_Minh',
  'America/Nuuk',
  'America/Argentina/Buenos_Aires',
  'America/Indiana/Indianapolis',
  'America/Kentucky/Louisville',
  'Atlantic/Faroe',
  'Africa/Asmara',
  'Pacific/Kanton',
  'Pacific/Chuuk',
  'Pacific/Pohnpei',
];
let timeZones: string[] | undefined;

/** Time zones matching what has been typed, e.g. `paris` → Europe/Paris, `utc` → UTC. */
export async function autocompleteTimeZones(interaction: AutocompleteInteraction): Promise<void> {
  const typed = interaction.options.getFocused().toLowerCase().replace(/\s+/g, '_');
  timeZones ??= [...new Set([...ZONES_NOT_LISTED, ...Intl.supportedValuesOf('timeZone')])];
  const zones = timeZones.filter((zone) => zone.toLowerCase().includes(typed));
  await interaction.respond(zones.slice(0, 25).map((zone) => ({ name: zone, value: zone })));
}
