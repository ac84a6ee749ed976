import { pino, type Logger } from 'pino';

export type { Logger };

/** JSON lines for machines; colourised lines when a person is watching the terminal. */
export function createLogger(level: string, pretty = process.stdout.isTTY === true): Logger {
  return pino({
    level,
    base: { service: 'twinapi' },
    ...(pretty ? { transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } } : {}),
  });
}
