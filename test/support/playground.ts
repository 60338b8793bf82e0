import { coreServicesFrom } from '../../src/discord/coreServices.js';
import { silentLogger } from '../../src/logger.js';
import { startPlayground, type Playground, type PlaygroundOptions } from '../../src/playground/server.js';
import type { Services } from '../../src/services.js';
import { allCommands } from './commands.js';

/** The playground on `services` with every command, as `npm run playground` starts it, on a free port and silent. */
export function startTestPlayground(
  services: Services,
  config: PlaygroundOptions['config'],
  options: Partial<Omit<PlaygroundOptions, 'services' | 'config'>> = {},
): Promise<Playground> {
  return startPlayground({
    services: coreServicesFrom(services),
    config,
    logger: silentLogger(),
    port: 0,
    commands: allCommands(),
    ...options,
  });
}
