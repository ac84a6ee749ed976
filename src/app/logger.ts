import { type DestinationStream, pino, type Logger } from 'pino';
import { LogLines } from './log-lines.js';

export type { Logger };

/**
 * JSON lines for machines; colourised lines when a person is watching the terminal.
 * `destination`: where the JSON lines go instead of stdout (tests read them).
 */
export function createLogger(
  level: string,
  pretty = process.stdout.isTTY === true,
  destination?: DestinationStream,
): Logger {
  // The pid tells the workers of `serve --workers N` apart.
  const options = { level, base: { service: 'twinapi', pid: process.pid } };
  if (destination) return pino(options, destination);
  if (pretty)
    return pino({ ...options, transport: { target: 'pino-pretty', options: { translateTime: 'SYS:HH:MM:ss.l' } } });
  return pino(options, LogLines.stdout());
}
