import { createRequire } from 'node:module';

type Undici = typeof import('undici');
let loaded: Undici | undefined;

/**
 * undici, required the first time it is needed rather than at start-up: it costs ~15 MB of RSS
 * once loaded (its parser is WebAssembly), and the default data path never needs it (issue 14's
 * memory target). It serves the node:http path to replicas, the Docker Engine API and the workers'
 * relay to the primary.
 */
export function undici(): Undici {
  loaded ??= createRequire(import.meta.url)('undici') as Undici;
  return loaded;
}
