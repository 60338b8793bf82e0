import type { Digest } from './digest.js';

/** What the scheduler asks a front end to do: put the digest in a channel. The Discord poster implements it. */
export interface PostRequest {
  guildId: string;
  channelId: string;
  digest: Digest;
  /** Same for every attempt of one (subscription, day); sent as the message nonce with `enforce_nonce`. */
  nonce: string;
  /** Open a discussion thread on the post. */
  openThread: boolean;
  /**
   * True when an earlier attempt may have posted before the process died: the poster first looks for that post in
   * the channel and returns it instead of posting again.
   */
  resumed: boolean;
  signal?: AbortSignal;
}

export interface PostedMessage {
  messageId: string;
  threadId?: string;
}

export interface TrendingPoster {
  post(request: PostRequest): Promise<PostedMessage>;
}

/**
 * The channel cannot receive posts and retrying will not change it (deleted channel, missing access or
 * permission). The scheduler disables the subscription with this reason instead of retrying.
 */
export class PostTargetGoneError extends Error {
  override readonly name = 'PostTargetGoneError';
  constructor(
    readonly reason: string,
    options: { cause?: unknown } = {},
  ) {
    super(reason, options);
  }
}

/** The marker in every trending post, so a resumed attempt can recognize the day's post in the channel. */
export function postMarker(digestDate: string, nonce: string): string {
  return `papercord trending · ${digestDate} · ${nonce}`;
}
