import pino, { type Logger } from 'pino';

/**
 * One logger for the process. Secrets never reach it: tokens and keys are read from the
 * environment by the modules that use them and are redacted here as a second guard.
 */
export function createLogger(opts: { level?: string; destination?: NodeJS.WritableStream } = {}): Logger {
  return pino(
    {
      level: opts.level ?? process.env.KEQUN_LOG_LEVEL ?? 'info',
      base: undefined,
      redact: { paths: ['token', '*.token', 'apiKey', '*.apiKey', 'secret', '*.secret', 'password', '*.password'], censor: '[redacted]' },
    },
    opts.destination ?? process.stdout,
  );
}

export const silentLogger: Logger = pino({ level: 'silent' });
