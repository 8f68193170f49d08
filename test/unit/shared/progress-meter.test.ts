import { describe, expect, it } from 'vitest';
import { ProgressMeter } from '../../../shared/model/progress-meter.js';
import type { ProgressEvent } from '../../../shared/model/progress.js';

describe('progress meter', () => {
  it('throttles events, measures the rate and estimates the time left', () => {
    let time = 0;
    const events: ProgressEvent[] = [];
    const meter = new ProgressMeter({
      phase: 'build',
      label: 'Writing',
      total: 1000,
      listener: (event) => events.push(event),
      now: () => time,
      intervalMs: 200,
    });
    for (let step = 1; step <= 10; step += 1) {
      time = step * 100;
      meter.update(step * 50);
    }
    // One event every 200 ms at most.
    expect(events.length).toBe(5);
    const last = events.at(-1) as ProgressEvent;
    expect(last.bytes).toBe(450);
    expect(last.bytesPerSecond).toBeCloseTo(500, 0);
    expect(last.etaSeconds).toBeCloseTo(1.1, 1);
    meter.finish();
    expect(events.at(-1)?.bytes).toBe(500);
  });

  it('reports no rate before time has passed and no ETA without a total', () => {
    const events: ProgressEvent[] = [];
    const meter = new ProgressMeter({
      phase: 'download',
      label: 'x',
      total: null,
      listener: (event) => events.push(event),
      now: () => 0,
    });
    meter.update(10);
    expect(events[0]).toMatchObject({ bytesPerSecond: null, etaSeconds: null, total: null });
  });
});
