import type { BaseChatModel } from '@langchain/core/language_models/chat_models';
import { ChatOllama } from '@langchain/ollama';
import { ChatOpenAI } from '@langchain/openai';
import type { Config } from '../config.js';
import { UserError } from '../errors.js';

/**
 * LLM backends, one registry entry each (LLM_PROVIDER). `none` is the built-in extractive answerer, so it has no chat
 * model. Adding a backend is adding an entry: a factory from the config to a LangChain chat model.
 */

export type LlmConfig = Pick<
  Config,
  'LLM_PROVIDER' | 'LLM_BASE_URL' | 'LLM_API_KEY' | 'LLM_MODEL' | 'OLLAMA_BASE_URL' | 'LLM_TIMEOUT_MS'
>;

export interface ChatBackend {
  model: BaseChatModel;
  /** `<provider>/<model>`, reported with every answer so users know what wrote it. */
  label: string;
}

export type ChatBackendFactory = (config: LlmConfig) => ChatBackend | null;

/** Models used when LLM_MODEL is unset. */
export const DEFAULT_LLM_MODELS = { openai: 'gpt-4o-mini', ollama: 'llama3.2' } as const;

/**
 * Local OpenAI-compatible servers (llama.cpp, vLLM, LM Studio) ignore the key, but the OpenAI client refuses to start
 * without one.
 */
const PLACEHOLDER_API_KEY = 'not-needed';

export const LLM_BACKENDS: Readonly<Record<Config['LLM_PROVIDER'], ChatBackendFactory>> = {
  none: () => null,
  openai: (config) => {
    if (!config.LLM_BASE_URL && !config.LLM_API_KEY) {
      throw new UserError(
        'LLM_PROVIDER=openai needs LLM_API_KEY for api.openai.com, or LLM_BASE_URL for an OpenAI-compatible server',
      );
    }
    const model = config.LLM_MODEL ?? DEFAULT_LLM_MODELS.openai;
    return {
      label: `openai/${model}`,
      model: new ChatOpenAI({
        model,
        apiKey: config.LLM_API_KEY ?? PLACEHOLDER_API_KEY,
        configuration: config.LLM_BASE_URL ? { baseURL: config.LLM_BASE_URL } : {},
        timeout: config.LLM_TIMEOUT_MS,
        // A failing model falls back to the extractive answer at once rather than keeping a user waiting on retries.
        maxRetries: 0,
        temperature: 0.2,
      }),
    };
  },
  ollama: (config) => {
    const model = config.LLM_MODEL ?? DEFAULT_LLM_MODELS.ollama;
    return {
      label: `ollama/${model}`,
      model: new ChatOllama({ model, baseUrl: config.OLLAMA_BASE_URL, temperature: 0.2, maxRetries: 0 }),
    };
  },
};

/** The configured chat model, or null when answers are extractive (LLM_PROVIDER=none). */
export function createChatBackend(config: LlmConfig): ChatBackend | null {
  return LLM_BACKENDS[config.LLM_PROVIDER](config);
}

/** A signal that aborts when the caller gives up or when `timeoutMs` has passed, whichever comes first. */
export function deadline(timeoutMs: number, signal?: AbortSignal): AbortSignal {
  const timeout = AbortSignal.timeout(timeoutMs);
  return signal ? AbortSignal.any([signal, timeout]) : timeout;
}
