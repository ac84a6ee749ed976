// Node fires a timer whose delay is past 2^31 − 1 ms (about 24.8 days) after 1 ms, with only a
// warning: a limit, a deadline or a token's expiry that far off would act at once.

/** The longest delay a Node timer keeps. */
export const LONGEST_TIMER_MS = 2 ** 31 - 1;
