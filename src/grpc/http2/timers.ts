// A connection limit or a deadline past what a timer can wait (LONGEST_TIMER_MS) means never here.
import { LONGEST_TIMER_MS as LONGEST_MS } from '../../domain/timers.js';

/** `run` after `ms`, unref'd; undefined (never) when `ms` is past what a timer can wait. */
export function after(ms: number, run: () => void): NodeJS.Timeout | undefined {
  return ms > LONGEST_MS ? undefined : setTimeout(run, Math.max(0, ms)).unref();
}

/** `run` every `ms`, unref'd; undefined (never) when `ms` is past what a timer can wait. */
export function every(ms: number, run: () => void): NodeJS.Timeout | undefined {
  return ms > LONGEST_MS ? undefined : setInterval(run, ms).unref();
}
