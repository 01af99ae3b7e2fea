import pino, { type Logger } from "pino";

export type { Logger } from "pino";

/**
 * Structured JSON logs (one object per line) for log pipelines. Credentials never reach a log line:
 * the headers that carry them are redacted wherever a request or response object is logged.
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
    destination,
  );
}
