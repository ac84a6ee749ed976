import { monitorEventLoopDelay } from 'node:perf_hooks';
import { overloaded } from '../domain/errors.js';
import type { LoadShedder } from '../domain/ports.js';

/** How often the event loop's delay is judged; a refusal lasts at least this long. */
const SAMPLE_MS = 500;

/**
 * Sheds load when the event loop lags: when any turn of the loop in the last sampling period was
 * late by more than `maxDelayMs`, calls are refused (OVERLOADED, retry after a second) until a
 * period passes without such a lag. A lagging loop means work is queueing faster than it is done;
 * refusing at once bounds that queue and keeps answers (and health checks) prompt.
 */
export function eventLoopLoadShedder(maxDelayMs: number): LoadShedder & { stop(): void } {
  const histogram = monitorEventLoopDelay({ resolution: 10 });
  histogram.enable();
  let lagging = false;
  const timer = setInterval(() => {
    lagging = histogram.max / 1e6 > maxDelayMs;
    histogram.reset();
  }, SAMPLE_MS).unref();
  const retryAfterSeconds = Math.max(1, Math.ceil(SAMPLE_MS / 1000));
  return {
    refusal: () => (lagging ? overloaded(retryAfterSeconds) : undefined),
    stop() {
      clearInterval(timer);
      histogram.disable();
    },
  };
}
