/**
 * Runs `operation` again, `pauseMs` after each failure that `retryable` accepts, for as long as the
 * next try would start before `deadline` (a `Date.now()` time) and `stopped()` is false; otherwise
 * its last failure is thrown. For a request refused before it was taken (so sending it again is
 * safe), while the refusal is expected to pass soon.
 */
export async function retryUntil<T>(
  operation: () => Promise<T>,
  retryable: (error: unknown) => boolean,
  deadline: number,
  pauseMs: number,
  stopped: () => boolean = () => false,
): Promise<T> {
  for (;;) {
    try {
      return await operation();
    } catch (error) {
      if (!retryable(error) || stopped() || Date.now() + pauseMs >= deadline) throw error;
      await new Promise((resolve) => setTimeout(resolve, pauseMs).unref());
    }
  }
}
