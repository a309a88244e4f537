/** A mistake in the command line: printed with the usage, exit code 2. */
export class UsageError extends Error {}

/** An input file the command cannot use (unreadable, not JSON, wrong shape): one line, exit code 1. */
export class InputError extends Error {}
