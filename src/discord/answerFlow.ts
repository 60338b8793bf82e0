import type { APIEmbed } from 'discord.js';
import type { ChatTurn } from '../answering/answerService.js';
import { renderAnswer, renderPartialAnswer } from './render.js';
import { ThrottledEdits } from './throttledEdits.js';
import type { BotServices } from './types.js';

/** Interaction tokens live 15 minutes; an answer still running near then can no longer be delivered. */
const ANSWER_DEADLINE_MS = 14 * 60 * 1000;

export interface AnswerFlowOptions {
  k?: number;
  history?: ChatTurn[];
  /** Answer from this one paper (its id), from its full text when there is one. */
  paper?: string;
  /** Answer from these papers only (their ids): a reading session's. */
  papers?: readonly string[];
  /** Shows the answer while the model writes it; called at most about once a second. */
  showPartial?: (embed: APIEmbed) => Promise<unknown>;
  signal?: AbortSignal;
}

/**
 * Asks the answer service and renders the result as messages of embeds (first edits the reply, the rest follow up).
 * Partial answers, when the model streams, are shown through `showPartial`, throttled.
 */
export async function answerAsMessages(
  services: BotServices,
  question: string,
  options: AnswerFlowOptions = {},
): Promise<APIEmbed[][]> {
  const showPartial = options.showPartial;
  // A partial answer is an edit that can wait too.
  const partials = showPartial
    ? new ThrottledEdits(async (text) => {
        await services.acknowledgements.yieldToAcknowledgements();
        return showPartial(renderPartialAnswer(question, text));
      }, services.logger)
    : undefined;
  const signal = options.signal
    ? AbortSignal.any([options.signal, AbortSignal.timeout(ANSWER_DEADLINE_MS)])
    : AbortSignal.timeout(ANSWER_DEADLINE_MS);
  try {
    // Under a burst, the acknowledgements of interactions that came in after this one go out before its answer work.
    await services.acknowledgements.yieldToAcknowledgements();
    const answer = await services.answers.ask(question, {
      ...(options.k !== undefined ? { k: options.k } : {}),
      ...(options.history ? { history: options.history } : {}),
      ...(options.paper !== undefined ? { paper: options.paper } : {}),
      ...(options.papers !== undefined ? { papers: options.papers } : {}),
      signal,
      ...(partials ? { onPartial: (text: string) => partials.push(text) } : {}),
    });
    await services.acknowledgements.yieldToAcknowledgements();
    return renderAnswer(question, answer);
  } finally {
    await partials?.finish();
  }
}
