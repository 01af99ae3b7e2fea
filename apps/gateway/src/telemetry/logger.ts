import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Structured JSON logs (one object per line) for log pipelines. Credentials never reach a log line:
 * the headers that carry them are redacted wherever a request or response object is logged.
 *
 * Without a destination, lines go to stdout through an asynchronous buffer (written when it holds
 * 4 KiB, and at least every 250 ms), so logging a request does not cost a write(2) on the request's
 * path; `flushLogger` empties it on shutdown.
 */
export function createLogger(level: string, service: string, destination?: pino.DestinationStream): Logger {
  return pino(
    {
      level,
      base: { service },
      timestamp: pino.stdTimeFunctions.isoTime,
      formatters: { level: (label) => ({ level: label }) },
      redact: {
        paths: [
          "req.headers.authorization",
          "req.headers['x-api-key']",
          "req.headers['api-key']",
          "req.headers.cookie",
          "*.api_key",
          "*.apiKey",
        ],
        censor: "[redacted]",
      },
    },
    destination ?? pino.destination({ dest: 1, sync: false, minLength: 4096, periodicFlush: 250 }),
  );
}

/** Writes out what the logger still buffers (call before exiting). */
export function flushLogger(logger: Logger): Promise<void> {
  return new Promise((resolve) => {
    logger.flush(() => resolve());
  });
}
