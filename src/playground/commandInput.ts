import {
  ApplicationCommandOptionType,
  type APIApplicationCommandOption,
  type RESTPostAPIChatInputApplicationCommandsJSONBody,
} from 'discord.js';
import { z } from 'zod';
import { UserError } from '../errors.js';

/** What the page sends for a slash command: option values as typed, converted here by the command's definition. */
export const commandInputSchema = z.object({
  name: z.string().min(1).max(32),
  subcommand: z.string().min(1).max(32).optional(),
  options: z.record(z.string().max(6000)).default({}),
  /** The command line as typed, shown above the reply. */
  text: z.string().max(6000).optional(),
});

export type CommandInput = z.infer<typeof commandInputSchema>;

export type OptionValue = string | number | boolean;

export interface ResolvedCommand {
  name: string;
  subcommand?: string;
  options: Record<string, OptionValue>;
}

/**
 * Checks a typed command against its definition the way Discord's client does before sending (known command and
 * options, numbers that parse, required non-text options present), and types each value as Discord would. Text
 * options are passed through even when empty: the bot, not the client, must refuse an empty question.
 */
export function resolveCommand(
  definitions: readonly RESTPostAPIChatInputApplicationCommandsJSONBody[],
  input: CommandInput,
): ResolvedCommand {
  const definition = definitions.find((candidate) => candidate.name === input.name);
  if (!definition) {
    throw new UserError(
      `There is no /${input.name} command; try ${definitions.map((command) => `/${command.name}`).join(', ')}.`,
    );
  }
  const topLevel = definition.options ?? [];
  const subcommands = topLevel.filter((option) => option.type === ApplicationCommandOptionType.Subcommand);
  let parameters: readonly APIApplicationCommandOption[] = topLevel;
  if (subcommands.length > 0) {
    const subcommand = subcommands.find((candidate) => candidate.name === input.subcommand);
    if (!subcommand) {
      throw new UserError(
        `/${definition.name} needs one of: ${subcommands.map((candidate) => candidate.name).join(', ')}.`,
      );
    }
    parameters = subcommand.options ?? [];
  }
  const options: Record<string, OptionValue> = {};
  for (const [name, raw] of Object.entries(input.options)) {
    const parameter = parameters.find((candidate) => candidate.name === name);
    if (!parameter) {
      const known = parameters.map((candidate) => candidate.name).join(', ') || 'none';
      throw new UserError(`/${commandLabel(input)} has no option "${name}" (options: ${known}).`);
    }
    options[name] = typedValue(parameter, raw);
  }
  for (const parameter of parameters) {
    if (!('required' in parameter) || !parameter.required || parameter.name in options) continue;
    if (parameter.type !== ApplicationCommandOptionType.String) {
      throw new UserError(`/${commandLabel(input)} needs the option ${parameter.name}.`);
    }
    options[parameter.name] = '';
  }
  return {
    name: definition.name,
    ...(input.subcommand && subcommands.length > 0 ? { subcommand: input.subcommand } : {}),
    options,
  };
}

function commandLabel(input: CommandInput): string {
  return input.subcommand ? `${input.name} ${input.subcommand}` : input.name;
}

function typedValue(parameter: APIApplicationCommandOption, raw: string): OptionValue {
  const text = raw.trim();
  switch (parameter.type) {
    case ApplicationCommandOptionType.String:
      return raw;
    case ApplicationCommandOptionType.Integer: {
      if (!/^-?\d+$/.test(text)) throw new UserError(`${parameter.name} must be a whole number (got "${text}").`);
      return Number(text);
    }
    case ApplicationCommandOptionType.Number: {
      const value = Number(text);
      if (text === '' || !Number.isFinite(value))
        throw new UserError(`${parameter.name} must be a number (got "${text}").`);
      return value;
    }
    case ApplicationCommandOptionType.Boolean: {
      if (!/^(true|false)$/i.test(text))
        throw new UserError(`${parameter.name} must be true or false (got "${text}").`);
      return text.toLowerCase() === 'true';
    }
    default:
      throw new UserError(
        `The playground cannot send the option ${parameter.name} (channels, users and roles need a real server).`,
      );
  }
}
