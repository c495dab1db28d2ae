// The soak's faults: the plan (which fault when, pure) and the injectors, each of which returns the
// window in which the fault was in effect.
import { sleep } from './lib/net.js';
import type { FaultKind, FaultWindow } from './soak-judge.js';

/** The order faults come in, repeated until the fault phase is over. */
export function faultCycle(options: {
  membership: 'local' | 'etcd';
  provider: 'static' | 'docker';
  restartDockerd?: boolean;
}): FaultKind[] {
  if (options.membership === 'etcd') {
    // ringlb's own replicas (no slow or resetting mode); ring settings are fixed in a shared cluster.
    return [
      'SIGKILL',
      'etcd member restart',
      '/add',
      'SIGSTOP',
      'certificate rotation',
      'leader instance killed',
      '/rm',
    ];
  }
  if (options.provider === 'docker')
    return [
      ...(options.restartDockerd ? (['dockerd restart'] as const) : []),
      '/add',
      'certificate rotation',
      'PUT /ring',
      '/rm',
    ];
  return [
    'SIGKILL',
    'slow replica',
    '/add',
    'SIGSTOP',
    'certificate rotation',
    'reset replica',
    'PUT /ring',
    '/rm',
  ];
}

export interface PlannedFault {
  readonly kind: FaultKind;
  /** ms since the start of the load. */
  readonly at: number;
}

/** Faults at an even spacing from `fromMs` to `toMs` (no closer than `minGapMs`), cycling the kinds. */
export function faultPlan(
  kinds: readonly FaultKind[],
  fromMs: number,
  toMs: number,
  minGapMs: number,
): PlannedFault[] {
  if (kinds.length === 0 || toMs <= fromMs) return [];
  const count = Math.max(kinds.length, Math.floor((toMs - fromMs) / minGapMs));
  const gap = (toMs - fromMs) / count;
  return Array.from({ length: count }, (_, i) => ({
    kind: kinds[i % kinds.length]!,
    at: Math.round(fromMs + i * gap),
  }));
}

/** What the injectors act on; each environment (soak replicas, etcd, docker) supplies its own. */
export interface FaultTargets {
  /** Replicas that can be signalled now, by the name the balancer gives them. */
  signalable(): Promise<
    { name: string; signal(signal: NodeJS.Signals): boolean; restart?: () => Promise<void> }[]
  >;
  /** Soak replicas only: set a misbehaviour on one replica in the ring. */
  misbehave?(kind: 'slow' | 'reset', on: boolean): Promise<string | undefined>;
  /** Until every replica the balancer should have is healthy (bounded). */
  settled(timeoutMs: number): Promise<void>;
  control(method: 'POST' | 'PUT', path: string, body?: unknown): Promise<{ status: number; text: string }>;
  rotateCertificate(): Promise<void>;
  etcdMemberRestart?(): Promise<string>;
  killLeader?(): Promise<{ target: string; instance: string }>;
  dockerdRestart?(): Promise<void>;
}

export interface FaultTiming {
  readonly stopMs: number;
  readonly misbehaveMs: number;
  readonly restartAfterMs: number;
  readonly settleMs: number;
}

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

let ringToggle = false;

/** Injects one fault and waits until it is over; the window says when it was in effect. */
export async function inject(
  kind: FaultKind,
  targets: FaultTargets,
  timing: FaultTiming,
  log: (line: string) => void,
): Promise<FaultWindow | undefined> {
  const at = Date.now();
  const done = (target: string, extra: Partial<FaultWindow> = {}): FaultWindow => ({
    kind,
    target,
    at,
    end: Date.now(),
    ...extra,
  });
  switch (kind) {
    case 'SIGKILL': {
      const victim = pick(await targets.signalable());
      if (!victim || !victim.signal('SIGKILL')) return (log(`${kind}: no replica to kill`), undefined);
      if (victim.restart) {
        // As a supervisor would: the same server, on the same port, a moment later.
        await sleep(timing.restartAfterMs);
        await victim.restart();
      }
      await targets.settled(timing.settleMs);
      return done(victim.name);
    }
    case 'SIGSTOP': {
      const victim = pick(await targets.signalable());
      if (!victim || !victim.signal('SIGSTOP')) return (log(`${kind}: no replica to stop`), undefined);
      await sleep(timing.stopMs);
      victim.signal('SIGCONT');
      await targets.settled(timing.settleMs);
      return done(victim.name);
    }
    case 'slow replica':
    case 'reset replica': {
      const mode = kind === 'slow replica' ? 'slow' : 'reset';
      const name = await targets.misbehave?.(mode, true);
      if (name === undefined) return (log(`${kind}: no replica to misbehave`), undefined);
      await sleep(timing.misbehaveMs);
      await targets.misbehave!(mode, false);
      return done(name);
    }
    case '/add':
    case '/rm': {
      const reply = await targets.control('POST', kind, kind === '/rm' ? { n: 1 } : undefined);
      if (reply.status !== 200) log(`${kind} answered ${reply.status}: ${reply.text.slice(0, 200)}`);
      const window = done(`answered ${reply.status}`);
      await targets.settled(timing.settleMs);
      return window;
    }
    case 'PUT /ring': {
      ringToggle = !ringToggle;
      const algorithm = ringToggle ? 'ketama' : 'classic';
      const reply = await targets.control('PUT', '/ring', { algorithm });
      if (reply.status !== 200) log(`PUT /ring answered ${reply.status}: ${reply.text.slice(0, 200)}`);
      return done(`${algorithm}, answered ${reply.status}`);
    }
    case 'certificate rotation':
      await targets.rotateCertificate();
      return done('new key and certificate renamed over the old');
    case 'etcd member restart': {
      const member = await targets.etcdMemberRestart!();
      await targets.settled(timing.settleMs);
      return done(member);
    }
    case 'leader instance killed': {
      const { target, instance } = await targets.killLeader!();
      return done(target, { instance });
    }
    case 'dockerd restart':
      await targets.dockerdRestart!();
      await targets.settled(timing.settleMs * 3);
      return done("the machine's dockerd");
  }
}
