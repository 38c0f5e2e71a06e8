import assert from 'node:assert/strict';
import { describe, it, mock } from 'node:test';
import { StallWatch } from './stall-watch';

describe('StallWatch', () => {
  it('calls onStall once per full silence, never while signs of life come or a handler is busy', async () => {
    mock.timers.enable({ apis: ['setInterval', 'Date'] });
    try {
      const stalls: number[] = [];
      const watch = new StallWatch(60_000, (silent) => stalls.push(silent));
      watch.start();
      for (let i = 0; i < 10; i++) {
        mock.timers.tick(15_000);
        watch.sign(); // heartbeats every 15 s: alive for 150 s
      }
      assert.deepEqual(stalls, [], 'a consumer that heartbeats is never restarted');

      let finish!: () => void;
      const batch = watch.whileBusy(() => new Promise<void>((resolve) => (finish = resolve)));
      mock.timers.tick(180_000);
      assert.deepEqual(stalls, [], 'a handler still working is not a stall');
      finish();
      await batch;

      mock.timers.tick(45_000);
      assert.deepEqual(stalls, [], 'not yet: 45 s of silence');
      mock.timers.tick(15_000);
      assert.equal(stalls.length, 1, 'stalled after 60 s of silence');
      assert.ok(stalls[0]! >= 60_000);
      mock.timers.tick(45_000);
      assert.equal(stalls.length, 1, 'once per silence');
      mock.timers.tick(15_000);
      assert.equal(stalls.length, 2, 'and again after another full silence');

      watch.stop();
      mock.timers.tick(600_000);
      assert.equal(stalls.length, 2, 'stopped: never again');
    } finally {
      mock.timers.reset();
    }
  });
});
