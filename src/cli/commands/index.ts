import type { CliCommand } from '../command.js';
import { addCommand } from './add.js';
import { askCommand } from './ask.js';
import { compareCommand } from './compare.js';
import { evalCommand } from './eval.js';
import { fulltextCommand } from './fulltext.js';
import { ingestCommand } from './ingest.js';
import { searchCommand } from './search.js';
import { statsCommand } from './stats.js';
import { trendingCommand } from './trending.js';

/** Every `papercord` command. Adding one is adding its file and one line here. */
export const COMMANDS: readonly CliCommand[] = [
  addCommand,
  askCommand,
  compareCommand,
  evalCommand,
  fulltextCommand,
  ingestCommand,
  searchCommand,
  statsCommand,
  trendingCommand,
];
