import type { BotCommand } from '../src/discord/types.js';
import * as add from './add.js';
import * as addPapersMenu from './addPapersMenu.js';
import * as about from './about.js';
import * as ask from './ask.js';
import * as compare from './compare.js';
import * as exportCommand from './export.js';
import * as feed from './feed.js';
import * as follow from './follow.js';
import * as library from './library.js';
import * as paper from './paper.js';
import * as read from './read.js';
import * as related from './related.js';
import * as search from './search.js';
import * as similar from './similar.js';
import * as trending from './trending.js';

/** Every slash and context-menu command the bot has. Adding one is writing `commands/<name>.ts` and listing it here. */
export const commandModules: readonly BotCommand[] = [
  ask,
  search,
  paper,
  similar,
  related,
  compare,
  read,
  exportCommand,
  add,
  library,
  trending,
  follow,
  feed,
  about,
  addPapersMenu,
];
