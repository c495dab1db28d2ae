import cluster, { type Worker } from 'node:cluster';
import { AggregatorRegistry, type Registry } from 'prom-client';

/**
 * `/metrics` across node:cluster workers. Any worker may receive the scrape; it asks the primary,
 * which collects every worker's registry through prom-client's AggregatorRegistry (counters and
 * histograms summed, membership gauges taken once, process metrics per their own aggregators) and
 * sends the text back.
 *
 *   primary:  serveClusterMetrics()
 *   worker:   renderMetrics = clusterRenderMetrics(metrics.registry)
 */
const ASK = 'ringlb:metrics-request';
const ANSWER = 'ringlb:metrics-response';

interface Answer {
  readonly type: typeof ANSWER;
  readonly id: number;
  readonly text?: string;
  readonly error?: string;
}

function isMessage(message: unknown, type: string): message is { type: string; id: number } {
  return typeof message === 'object' && message !== null && (message as { type?: unknown }).type === type;
}

/** In the primary: answers workers that ask for the metrics of all workers. Returns a stop function. */
export function serveClusterMetrics(): () => void {
  const aggregator = new AggregatorRegistry();
  const onMessage = (worker: Worker, message: unknown) => {
    if (!isMessage(message, ASK)) return;
    const { id } = message;
    aggregator.clusterMetrics().then(
      (text) => worker.send({ type: ANSWER, id, text } satisfies Answer),
      (error: Error) => worker.send({ type: ANSWER, id, error: error.message } satisfies Answer),
    );
  };
  cluster.on('message', onMessage);
  return () => void cluster.off('message', onMessage);
}

/**
 * In a worker: offers `registry` to the primary's aggregation and returns the `renderMetrics` for this
 * worker's `/metrics`, which resolves with every worker's metrics together.
 */
export function clusterRenderMetrics(registry: Registry, timeoutMs = 5_000): () => Promise<string> {
  if (!cluster.isWorker) throw new Error('clusterRenderMetrics() is for node:cluster workers');
  AggregatorRegistry.setRegistries([registry]);
  new AggregatorRegistry(); // installs this worker's answer to the primary's collection requests
  const pending = new Map<number, { resolve: (text: string) => void; reject: (error: Error) => void }>();
  let next = 0;
  process.on('message', (message: unknown) => {
    if (!isMessage(message, ANSWER)) return;
    const answer = message as Answer;
    const waiting = pending.get(answer.id);
    pending.delete(answer.id);
    if (answer.text !== undefined) waiting?.resolve(answer.text);
    else waiting?.reject(new Error(`metrics from the primary failed: ${answer.error}`));
  });
  return () =>
    new Promise<string>((resolve, reject) => {
      const id = next++;
      const timer = setTimeout(() => {
        pending.delete(id);
        reject(new Error(`the primary did not send metrics within ${timeoutMs} ms`));
      }, timeoutMs);
      pending.set(id, {
        resolve: (text) => (clearTimeout(timer), resolve(text)),
        reject: (error) => (clearTimeout(timer), reject(error)),
      });
      process.send!({ type: ASK, id });
    });
}
