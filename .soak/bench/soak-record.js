// What the soak's clients saw: requests sent, succeeded and failed per second, every failure with
// its moment, stage and reason (classified after the run, against the faults), and latencies.
/** Thrown by a request function: `reason` names what went wrong, in the client's words. */
export class RequestFailed extends Error {
    reason;
    stage;
    constructor(reason, stage = 'before-response') {
        super(reason);
        this.reason = reason;
        this.stage = stage;
    }
}
/** The reason of an error from undici, node:http2, node:tls or grpc-js, without its details. */
export function reasonOf(error) {
    if (error instanceof RequestFailed)
        return error.reason;
    const { code, name, message } = error;
    if (typeof code === 'string' && code !== '')
        return code;
    if (name === 'TimeoutError' || name === 'AbortError')
        return 'client timeout';
    return (message ?? String(error)).split('\n')[0].slice(0, 80);
}
export class Recorder {
    startedAt;
    seconds = [];
    failures = [];
    streams = new Map();
    constructor(startedAt) {
        this.startedAt = startedAt;
    }
    second(at) {
        const index = Math.max(0, Math.floor((at - this.startedAt) / 1000));
        while (this.seconds.length <= index)
            this.seconds.push({ sent: 0, ok: 0, failed: 0, latencies: [] });
        return this.seconds[index];
    }
    #stream(name) {
        let counts = this.streams.get(name);
        if (!counts)
            this.streams.set(name, (counts = { sent: 0, ok: 0, failed: 0 }));
        return counts;
    }
    /**
     * Runs one request and counts it: ok when `send` resolves, failed (with its reason and stage)
     * when it throws. Its latency counts towards the percentiles when `timed`.
     */
    async run(stream, instance, idempotent, timed, send) {
        const start = Date.now();
        this.second(start).sent++;
        this.#stream(stream).sent++;
        let stage = 'before-response';
        try {
            await send({ responded: () => (stage = 'mid-body') });
        }
        catch (error) {
            const end = Date.now();
            const failedStage = error instanceof RequestFailed && error.stage === 'mid-body' ? 'mid-body' : stage;
            this.failures.push({ stream, idempotent, start, end, stage: failedStage, reason: reasonOf(error), instance });
            this.second(end).failed++;
            this.#stream(stream).failed++;
            return false;
        }
        const end = Date.now();
        const second = this.second(end);
        second.ok++;
        if (timed)
            second.latencies.push(end - start);
        this.#stream(stream).ok++;
        return true;
    }
    get sent() {
        let total = 0;
        for (const counts of this.streams.values())
            total += counts.sent;
        return total;
    }
}
