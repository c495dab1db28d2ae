import { fileURLToPath } from 'node:url';

/** The built CLI, for tests and harnesses that start `ringlb` as a process of its own. */
export const MAIN = fileURLToPath(new URL('../dist/cli/main.js', import.meta.url));
