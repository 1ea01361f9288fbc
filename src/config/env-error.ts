/** A problem with the environment variables, reported before anything starts (one line, exit 2). */
export class EnvError extends Error {}
