import { resolvePaper, suggestPapers } from '../library/lookup.js';
import type { Services } from '../services.js';
import type { CoreServices } from './types.js';

/** The bot's view of the core services: the same objects the CLI uses, with paper lookup bound to the library. */
export function coreServicesFrom(services: Services): CoreServices {
  return {
    library: services.library,
    retriever: services.retriever,
    answers: services.answers,
    suggestPapers: (query, limit) => suggestPapers(services.library, query, limit),
    resolvePaper: (nameOrId) => resolvePaper(services.library, nameOrId),
    addPapers: (items, options) => services.intake.add(items, options),
    recentPapers: (limit) => services.library.all().slice(-limit).reverse(),
    linkChannels: services.linkChannels,
    fullText: services.fullText,
  };
}
