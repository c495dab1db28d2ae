import { describe, expect, it } from 'vitest';
import { PER_REQUEST_BUFFER_LIMIT_BYTES, ReplayBuffer } from './replay-buffer.js';

describe('ReplayBuffer', () => {
  it('keeps every chunk while the body fits the limit, and drops them all for good once it does not', () => {
    const replay = new ReplayBuffer(10);
    replay.push(Buffer.from('hello'));
    replay.push(Buffer.from('world'));
    expect(replay.replayable).toBe(true);
    expect(Buffer.concat(replay.chunks).toString()).toBe('helloworld');
    replay.push(Buffer.from('!'));
    expect(replay.replayable).toBe(false);
    expect(replay.chunks).toEqual([]);
    expect(replay.bytes).toBe(11);
  });

  it('holds 64 KiB by default, as documented', () => {
    expect(PER_REQUEST_BUFFER_LIMIT_BYTES).toBe(64 * 1024);
    const replay = new ReplayBuffer();
    replay.push(Buffer.alloc(PER_REQUEST_BUFFER_LIMIT_BYTES));
    expect(replay.replayable).toBe(true);
    replay.push(Buffer.alloc(1));
    expect(replay.replayable).toBe(false);
  });
});
