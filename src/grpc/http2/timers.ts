// Node fires a timer whose delay is past 2^31 − 1 ms (24.8 days) after 1 ms, with only a warning:
// a connection limit or a deadline that far off would act at once. Here such a delay means never.
const LONGEST_MS = 2 ** 31 - 1;

/** `run` after `ms`, unref'd; undefined (never) when `ms` is past what a timer can wait. */
export function after(ms: number, run: () => void): NodeJS.Timeout | undefined {
  return ms > LONGEST_MS ? undefined : setTimeout(run, Math.max(0, ms)).unref();
}

/** `run` every `ms`, unref'd; undefined (never) when `ms` is past what a timer can wait. */
export function every(ms: number, run: () => void): NodeJS.Timeout | undefined {
  return ms > LONGEST_MS ? undefined : setInterval(run, ms).unref();
}
