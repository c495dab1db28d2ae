import type { TaskDetails } from '../docker/engine.js';

/**
 * What a Swarm service's task list says, as pure functions: which slots the service wants, and
 * which task runs each slot now and where. Swarm keeps past tasks in the list (failed, shut down),
 * so every answer is about the tasks the manager still wants running.
 */

/** Task states in the order Swarm moves a task through them; "running" is the last one wanted. */
const STATES = [
  'new',
  'allocated',
  'pending',
  'assigned',
  'accepted',
  'preparing',
  'ready',
  'starting',
  'running',
] as const;

/** States of a task whose container runs or is being started. */
const LIVE = new Set(['starting', 'running']);

/** Whether the manager still wants the task to run (not shut down, removed or past its life). */
export function isWanted(task: TaskDetails): boolean {
  return (STATES as readonly string[]).includes(task.DesiredState);
}

/** The slots the service wants, each once (a replacement shares its slot with the task it replaces). */
export function wantedSlots(tasks: readonly TaskDetails[]): Set<number> {
  const slots = new Set<number>();
  for (const task of tasks) if (isWanted(task) && task.Slot !== undefined) slots.add(task.Slot);
  return slots;
}

/** A task that runs and can be reached: its address on the network the balancer shares with it. */
export interface RunningTask {
  readonly slot: number;
  readonly taskId: string;
  readonly containerId: string | undefined;
  /** The task's IP on the network, without the prefix length. */
  readonly address: string;
  /** When it entered its state (ms since the epoch, the manager's clock), if the manager said. */
  readonly since: number | undefined;
}

/** The task on `networkId` of `task`, without its prefix length, if it has one. */
export function addressOn(task: TaskDetails, networkId: string): string | undefined {
  const attachment = task.NetworksAttachments?.find((a) => a.Network.ID === networkId);
  const cidr = attachment?.Addresses?.[0];
  return cidr === undefined ? undefined : cidr.replace(/\/\d+$/, '');
}

/**
 * For each slot, the newest wanted task whose container runs (or is being started) and that has an
 * address on the network. A slot whose task is still being scheduled, or failed, has none.
 */
export function runningBySlot(tasks: readonly TaskDetails[], networkId: string): Map<number, RunningTask> {
  const newest = new Map<number, { task: TaskDetails; address: string }>();
  for (const task of tasks) {
    // "starting": its container is being started; the balancer checks it before routing to it.
    if (!isWanted(task) || !LIVE.has(task.Status.State) || task.Slot === undefined) continue;
    const address = addressOn(task, networkId);
    if (address === undefined) continue;
    const seen = newest.get(task.Slot);
    if (!seen || isNewer(task, seen.task)) newest.set(task.Slot, { task, address });
  }
  const running = new Map<number, RunningTask>();
  for (const [slot, { task, address }] of newest) {
    running.set(slot, {
      slot,
      taskId: task.ID,
      containerId: task.Status.ContainerStatus?.ContainerID,
      address,
      since: sinceOf(task),
    });
  }
  return running;
}

/** Why a task is not (or no longer) running, in the words Swarm uses: `failed: task: non-zero exit (137)`. */
export function taskStateText(task: TaskDetails | undefined): string {
  if (!task) return 'no task';
  const why = task.Status.Err ?? task.Status.Message;
  return why ? `${task.Status.State}: ${why}` : task.Status.State;
}

/** The newest task of a slot, wanted or not: what `docker service ps` shows first. */
export function newestOfSlot(tasks: readonly TaskDetails[], slot: number): TaskDetails | undefined {
  let newest: TaskDetails | undefined;
  for (const task of tasks) if (task.Slot === slot && (!newest || isNewer(task, newest))) newest = task;
  return newest;
}

function sinceOf(task: TaskDetails): number | undefined {
  const at = task.Status.Timestamp === undefined ? NaN : Date.parse(task.Status.Timestamp);
  return Number.isNaN(at) ? undefined : at;
}

/** Swarm's timestamps drop trailing zeros of the nanoseconds, so they are compared as times. */
function isNewer(a: TaskDetails, b: TaskDetails): boolean {
  return Date.parse(a.CreatedAt) > Date.parse(b.CreatedAt);
}
