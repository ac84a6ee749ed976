// RFC 3339 timestamps as the proto3 JSON mapping writes them (`2026-12-04T18:12:58.441Z`), which
// `Date.prototype.toISOString` also writes, but through a C++ formatter costing ~7,000
// instructions a call (measured: two per user, the largest single cost of a GetUser's JSON and
// most of a 100-user page's). This is the same text from arithmetic on the epoch milliseconds.

/** The ISO 8601 / RFC 3339 UTC form of `ms`, exactly as `new Date(ms).toISOString()` writes it. */
export function isoTimestamp(ms: number): string {
  // Years 1970..9999 are the ones worth a fast path (and all a user's timestamps); the rest, and
  // anything that is not a whole millisecond, are left to the runtime, which also throws on NaN.
  if (!(ms >= 0 && ms < MAX_FAST) || !Number.isInteger(ms)) return new Date(ms).toISOString();
  const days = Math.floor(ms / DAY_MS);
  let rest = ms - days * DAY_MS;
  // Howard Hinnant's days-to-civil: eras of 400 years (146,097 days) starting on 0000-03-01.
  const z = days + 719_468;
  const era = Math.floor(z / 146_097);
  const dayOfEra = z - era * 146_097;
  const yearOfEra = Math.floor(
    (dayOfEra - Math.floor(dayOfEra / 1460) + Math.floor(dayOfEra / 36_524) - Math.floor(dayOfEra / 146_096)) / 365,
  );
  const dayOfYear = dayOfEra - (365 * yearOfEra + Math.floor(yearOfEra / 4) - Math.floor(yearOfEra / 100));
  const monthFromMarch = Math.floor((5 * dayOfYear + 2) / 153);
  const day = dayOfYear - Math.floor((153 * monthFromMarch + 2) / 5) + 1;
  const month = monthFromMarch < 10 ? monthFromMarch + 3 : monthFromMarch - 9;
  const year = yearOfEra + era * 400 + (month <= 2 ? 1 : 0);
  const hours = Math.floor(rest / 3_600_000);
  rest -= hours * 3_600_000;
  const minutes = Math.floor(rest / 60_000);
  rest -= minutes * 60_000;
  const seconds = Math.floor(rest / 1000);
  const millis = rest - seconds * 1000;
  return `${year}-${TWO[month]}-${TWO[day]}T${TWO[hours]}:${TWO[minutes]}:${TWO[seconds]}.${THREE[millis]}Z`;
}

const DAY_MS = 86_400_000;
/** 10000-01-01T00:00:00.000Z: from there on the year has five digits and a sign. */
const MAX_FAST = 253_402_300_800_000;

/** `00`…`99` and `000`…`999`, made once: no number is turned into text per call. */
const TWO = Array.from({ length: 100 }, (_, n) => String(n).padStart(2, '0'));
const THREE = Array.from({ length: 1000 }, (_, n) => String(n).padStart(3, '0'));
