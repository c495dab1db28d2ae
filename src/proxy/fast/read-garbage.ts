import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';

/**
 * Body bytes read between two young-generation collections that the balancer asks for itself.
 *
 * Node gives every socket read a fresh buffer (up to 64 KiB, malloc'd outside V8's heap), which the
 * body relay drops as soon as it is written on. Those buffers are freed only when V8 collects their
 * small JS handles, and V8 notices the outside memory late: streaming bodies left up to ~64 MB of
 * dead read buffers per collection ("external memory pressure"), each time followed by a full
 * mark-compact. That took a worker from 70 MB to over 100 MB during a 1 GiB transfer and spent 15 %
 * of its CPU in the collector. A scavenge every RELIEF_BYTES keeps the dead buffers to a few MB, and
 * costs ~0.3 ms (almost nothing survives it), well under the collections it replaces.
 */
export const RELIEF_BYTES = 8 * 2 ** 20;

type MinorCollector = (options: { type: 'minor' }) => void;

/**
 * V8's `gc` function, taken from a fresh context while `--expose-gc` is set for a moment, so that
 * the global scope never holds it and the balancer needs no extra command-line flag.
 */
function minorCollector(): MinorCollector {
  setFlagsFromString('--expose-gc');
  try {
    return runInNewContext('gc') as MinorCollector;
  } finally {
    setFlagsFromString('--no-expose-gc');
  }
}

let collect: MinorCollector | undefined;
let unrelieved = 0;

/** Counts body bytes just read from a socket; collects the young generation every RELIEF_BYTES. */
export function bodyBytesRead(bytes: number): void {
  unrelieved += bytes;
  if (unrelieved < RELIEF_BYTES) return;
  unrelieved = 0;
  collect ??= minorCollector();
  collect({ type: 'minor' });
}
