import type { SlashCommand } from '../src/discord/types.js';
import * as about from './about.js';
import * as ask from './ask.js';
import * as compare from './compare.js';
import * as paper from './paper.js';
import * as search from './search.js';
import * as similar from './similar.js';
import * as trending from './trending.js';

/** Every slash command the bot has. Adding one is writing `commands/<name>.ts` and listing it here. */
export const commandModules: readonly SlashCommand[] = [ask, search, paper, similar, compare, trending, about];
