import { pino, type Logger, type LoggerOptions } from 'pino';

export type { Logger };
export type LogLevel = 'fatal' | 'error' | 'warn' | 'info' | 'debug' | 'trace' | 'silent';

/** Paths never written to logs, whatever the level. */
export const REDACT_PATHS = [
  'req.headers.authorization',
  'req.headers.cookie',
  'req.headers["idempotency-key"]',
  'headers.authorization',
  'sip.headers.authorization',
  'sip.headers["proxy-authorization"]',
  '*.authorization',
  '*.password',
  '*.secret',
  '*.token',
  '*.accessToken',
  '*.credential',
  '*.apiKey',
  '*.adminKey',
  '*.ha1',
  'secret',
  'token',
  'password',
  'credential',
];

export interface LoggerConfig {
  service: string;
  level: LogLevel;
  /** Pretty-print (only when stdout is a TTY; decided by main.ts). */
  pretty?: boolean;
  /** Write to this destination instead of stdout (tests, benchmarks). */
  destination?: pino.DestinationStream;
}

export function createLogger(o: LoggerConfig): Logger {
  const options: LoggerOptions = {
    level: o.level,
    base: { service: o.service },
    redact: { paths: REDACT_PATHS, censor: '[redacted]' },
    timestamp: pino.stdTimeFunctions.isoTime,
    ...(o.pretty && !o.destination ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  };
  return o.destination ? pino(options, o.destination) : pino(options);
}

/** A logger that writes nothing (tests). */
export const silentLogger: Logger = pino({ level: 'silent' });
