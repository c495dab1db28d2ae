import { fetchText } from './lib/net.js';
import type { LogLine } from './lib/ringlb.js';

/** A replica entering or leaving the ring, as observed. */
export interface Transition {
  readonly time: number;
  readonly name: string;
  readonly inRing: boolean;
}

/**
 * Which replicas are in the ring, over time. From `GET /ring` when the balancer has it (it lists the
 * ring's members), otherwise from the balancer's log lines: the listening line names the first
 * members, and membership changes are logged with the replica's name (as state changes, or in the
 * foundation's wording).
 */
export class RingMembership {
  readonly transitions: Transition[] = [];
  #members = new Set<string>();
  #source: 'GET /ring' | 'log lines' = 'log lines';

  get source(): string {
    return this.#source;
  }

  get members(): ReadonlySet<string> {
    return this.#members;
  }

  /** Uses GET /ring when it answers with a member list; call once the balancer listens. */
  async detectEndpoint(origin: string): Promise<void> {
    const names = await ringEndpointMembers(origin);
    if (names === undefined) return;
    this.#source = 'GET /ring';
    this.#set(names, Date.now());
  }

  async poll(origin: string): Promise<void> {
    if (this.#source !== 'GET /ring') return;
    const names = await ringEndpointMembers(origin);
    if (names !== undefined) this.#set(names, Date.now());
  }

  onLog(line: LogLine): void {
    if (this.#source === 'GET /ring') return;
    const { fields, time, msg } = line;
    const names = (key: string): string[] =>
      Array.isArray(fields[key])
        ? (fields[key] as unknown[]).filter((v): v is string => typeof v === 'string')
        : [];
    const replica = typeof fields.replica === 'string' ? fields.replica : undefined;
    if (msg === 'ringlb listening') this.#set(names('replicas'), time);
    else if (msg === 'replicas added') for (const name of names('added')) this.#change(name, true, time);
    else if (msg === 'replicas removed') for (const name of names('removed')) this.#change(name, false, time);
    else if (replica && msg === 'replica state changed') {
      // Only the healthy state is in the ring (every other state: starting, down, ejected, draining).
      if (fields.to === 'healthy') this.#change(replica, true, time);
      else if (fields.from === 'healthy') this.#change(replica, false, time);
    } else if (replica && /out of the ring|ejected/.test(msg)) this.#change(replica, false, time);
    else if (replica && /back in the ring|returned to the ring/.test(msg)) this.#change(replica, true, time);
  }

  /** The first time at or after `since` that `name` left (or joined) the ring. */
  firstChange(name: string, inRing: boolean, since: number): number | undefined {
    return this.transitions.find((t) => t.name === name && t.inRing === inRing && t.time >= since)?.time;
  }

  #set(names: string[], time: number): void {
    const next = new Set(names);
    for (const name of this.#members) if (!next.has(name)) this.#change(name, false, time);
    for (const name of next) this.#change(name, true, time);
  }

  #change(name: string, inRing: boolean, time: number): void {
    if (this.#members.has(name) === inRing) return;
    if (inRing) this.#members.add(name);
    else this.#members.delete(name);
    this.transitions.push({ time, name, inRing });
  }
}

async function ringEndpointMembers(origin: string): Promise<string[] | undefined> {
  const reply = await fetchText(`${origin}/ring`, { timeoutMs: 2000 }).catch(() => undefined);
  if (reply?.status !== 200) return undefined;
  try {
    const body = JSON.parse(reply.text) as { replicas?: unknown; message?: { replicas?: unknown } };
    const list = Array.isArray(body.replicas) ? body.replicas : body.message?.replicas;
    if (!Array.isArray(list)) return undefined;
    const names = list.map((entry) =>
      typeof entry === 'string' ? entry : (entry as { name?: unknown })?.name,
    );
    return names.every((name): name is string => typeof name === 'string') ? names : undefined;
  } catch {
    return undefined;
  }
}
