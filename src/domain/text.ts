// What the service accepts as text, and the one form it stores and compares.

// A lone surrogate (\p{Cs} in a `u` pattern matches only unpaired ones), a control character, or
// U+FFFD: the replacement character decoders put where bytes were not UTF-8, so its presence
// means the text was damaged before it arrived (gRPC's decoder replaces invalid UTF-8 silently).
const LONE_SURROGATE = /\p{Cs}/u;
const CONTROL = /\p{Cc}/u;
const REPLACEMENT = '\uFFFD';

/** Why `text` cannot be taken as it is, as a field violation's description; undefined when it can. */
export function textProblem(text: string): string | undefined {
  if (LONE_SURROGATE.test(text)) return 'is not valid Unicode text (it has a lone surrogate)';
  if (CONTROL.test(text)) return 'must not contain control characters';
  if (text.includes(REPLACEMENT)) return 'is not valid text (U+FFFD marks bytes that were not UTF-8)';
  return undefined;
}

/** The one form text is stored in: NFC, so that one word typed two ways is one word. */
export function normalized(text: string): string {
  return text.normalize('NFC');
}

/** The form compared for uniqueness and search: NFC, then lower case. */
export function searchKey(text: string): string {
  return normalized(text).toLowerCase();
}

/** Length in code points, as people count characters (an emoji is one, not two). */
export function characters(text: string): number {
  let count = 0;
  for (const _ of text) count++;
  return count;
}

/**
 * The one- and two-character substrings of a name's search key, each as one word of letters and
 * digits (`g` and the code points in hex: "qz" is `g71x7a`) that any full-text tokenizer keeps
 * whole: what the stores' gram indexes look up the filters too short for a trigram index in.
 */
export function nameGrams(key: string): string {
  const points = codePoints(key);
  const grams = new Set<string>();
  points.forEach((point, i) => {
    grams.add(gram([point]));
    if (i + 1 < points.length) grams.add(gram([point, points[i + 1]!]));
  });
  return [...grams].join(' ');
}

/** The word `nameGrams` writes for `key`, a search key of one or two characters. */
export function gramOf(key: string): string {
  return gram(codePoints(key));
}

const codePoints = (text: string) => Array.from(text, (c) => c.codePointAt(0)!.toString(16));
const gram = (points: readonly string[]) => `g${points.join('x')}`;
