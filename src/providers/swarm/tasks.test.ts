import { describe, expect, it } from 'vitest';
import type { TaskDetails } from '../docker/engine.js';
import { runningBySlot, taskStateText, wantedSlots } from './tasks.js';

/** Tasks as the Engine API lists them (the fields read), here for one service on network "n1". */
function task(
  id: string,
  slot: number,
  desired: string,
  state: string,
  createdAt: string,
  address?: string,
): TaskDetails {
  return {
    ID: id,
    Slot: slot,
    CreatedAt: createdAt,
    DesiredState: desired,
    Status: { State: state, Timestamp: createdAt, ContainerStatus: { ContainerID: `c-${id}` } },
    ...(address
      ? {
          NetworksAttachments: [
            { Network: { ID: 'n1', Spec: { Name: 'net' } }, Addresses: [`${address}/24`] },
          ],
        }
      : {}),
  };
}

describe('a service task list', () => {
  const tasks = [
    // slot 1 died and was replaced: the failed task stays in the list, shut down
    task('a', 1, 'shutdown', 'failed', '2026-12-02T13:06:57.97Z', '10.0.1.2'),
    task('b', 1, 'running', 'running', '2026-12-02T13:07:40.099553054Z', '10.0.1.6'),
    task('c', 2, 'running', 'running', '2026-12-02T13:06:57.970644256Z', '10.0.1.3'),
    // slot 3 restarting after a delay: wanted ("ready"), not running yet
    task('d', 3, 'ready', 'ready', '2026-12-02T13:08:00Z'),
    // slot 4 being removed by a scale-down
    task('e', 4, 'remove', 'running', '2026-12-02T13:06:58Z', '10.0.1.5'),
  ];

  it('wants the slots whose newest task the manager still wants running', () => {
    expect([...wantedSlots(tasks)].sort()).toEqual([1, 2, 3]);
  });

  it('reaches each slot at its newest running task, on the given network only', () => {
    const running = runningBySlot(tasks, 'n1');
    expect([...running.keys()].sort()).toEqual([1, 2]);
    expect(running.get(1)).toEqual({
      slot: 1,
      taskId: 'b',
      containerId: 'c-b',
      address: '10.0.1.6',
      since: Date.parse('2026-12-02T13:07:40.099Z'),
    });
    const undated = runningBySlot([{ ...tasks[1]!, Status: { State: 'running' } }], 'n1');
    expect(undated.get(1)?.since).toBeUndefined();
    expect(runningBySlot(tasks, 'other').size).toBe(0);
  });

  it("says why a task is not running in Swarm's words", () => {
    const failed: TaskDetails = {
      ...tasks[0]!,
      Status: { State: 'failed', Err: 'task: non-zero exit (137)', Message: 'started' },
    };
    expect(taskStateText(failed)).toBe('failed: task: non-zero exit (137)');
    expect(taskStateText(undefined)).toBe('no task');
  });
});
