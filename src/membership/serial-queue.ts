/**
 * Runs async operations one at a time, in the order they were queued. Membership changes go through
 * one of these so that two concurrent `/add` calls can never interleave their steps.
 */
export class SerialQueue {
  #tail: Promise<unknown> = Promise.resolve();

  run<T>(operation: () => Promise<T>): Promise<T> {
    const result = this.#tail.then(operation, operation);
    this.#tail = result.catch(() => undefined);
    return result;
  }
}
