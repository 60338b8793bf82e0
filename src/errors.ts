/**
 * Something the person using papercord can fix (bad input, unknown paper, missing permission).
 * Front ends show its message as-is: an ephemeral reply in Discord, one line and a non-zero exit in the CLI.
 * Anything that is not a UserError is a bug: logged with context, shown to users as a short apology.
 */
export class UserError extends Error {
  override readonly name = 'UserError';
  /** CLI exit code: 2 for usage errors, 1 otherwise. */
  readonly exitCode: number;

  constructor(message: string, options: { exitCode?: number; cause?: unknown } = {}) {
    super(message, { cause: options.cause });
    this.exitCode = options.exitCode ?? 1;
  }
}

/** Bad command-line arguments: the CLI prints usage and exits 2. */
export class UsageError extends UserError {
  constructor(message: string) {
    super(message, { exitCode: 2 });
  }
}

export function isUserError(error: unknown): error is UserError {
  return error instanceof UserError;
}

/** A message safe to log for an unknown thrown value. */
export function describeError(error: unknown): string {
  if (error instanceof Error) return error.message;
  return String(error);
}
