import { extname } from 'node:path';
import { fileURLToPath } from 'node:url';

const EXT = extname(fileURLToPath(import.meta.url));

/**
 * Node arguments that run a lab entry (given without extension, relative to
 * the caller's URL) the way this lab runs: TypeScript sources need tsx's loader.
 */
export function nodeArgsFor(entry: string, base: string): string[] {
  const file = fileURLToPath(new URL(`${entry}${EXT}`, base));
  return EXT === '.ts' ? ['--import', import.meta.resolve('tsx'), file] : [file];
}
