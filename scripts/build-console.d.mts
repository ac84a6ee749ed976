/** Builds the web console into `outDir` (emptied first); resolves with the names of the files it wrote. */
export function buildConsole(outDir: string): Promise<{ script: string; stylesheet: string; files: string[] }>;
