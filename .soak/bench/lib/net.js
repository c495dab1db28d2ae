import { createServer } from 'node:net';
import { request } from 'undici';
/** A port that was free on 127.0.0.1 a moment ago (the kernel picks it; we release it at once). */
export function freePort() {
    return new Promise((resolve, reject) => {
        const server = createServer();
        server.once('error', reject);
        server.listen(0, '127.0.0.1', () => {
            const address = server.address();
            const port = typeof address === 'object' && address ? address.port : 0;
            server.close(() => resolve(port));
        });
    });
}
export const sleep = (ms) => new Promise((resolve) => setTimeout(resolve, ms));
/** One request with a hard time limit; network errors become a rejection. */
export async function fetchText(url, init = {}) {
    const timeoutMs = init.timeoutMs ?? 5000;
    const response = await request(url, {
        method: init.method ?? 'GET',
        headers: init.headers,
        body: init.body,
        headersTimeout: timeoutMs,
        bodyTimeout: timeoutMs,
        signal: AbortSignal.timeout(timeoutMs),
    });
    return { status: response.statusCode, text: await response.body.text() };
}
/** Polls `check` every `everyMs` until it returns a value, or throws after `timeoutMs`. */
export async function waitFor(what, check, timeoutMs, everyMs = 50) {
    const deadline = Date.now() + timeoutMs;
    for (;;) {
        const value = await check().catch(() => undefined);
        if (value !== undefined)
            return value;
        if (Date.now() > deadline)
            throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}`);
        await sleep(everyMs);
    }
}
