import { describe, expect, it } from 'vitest';
import { renderProgressLine, terminalOutput } from '../../../main/cli/progress-output.js';

describe('progress line', () => {
  it('shows a bar, percentage, bytes, rate and ETA', () => {
    const line = renderProgressLine(
      {
        phase: 'build',
        label: 'Writing boot files',
        bytes: 50 * 2 ** 20,
        total: 100 * 2 ** 20,
        bytesPerSecond: 210e6,
        etaSeconds: 0.4,
      },
      120,
    );
    expect(line).toMatch(/^Writing boot files {2}\[#+\.+\] {2}50% {2}50 MiB\/100 MiB {2}210 MB\/s {2}ETA 0:01$/);
  });

  it('draws a full line when the terminal reports no width', () => {
    const lines: string[] = [];
    const fake = { columns: 0, write: (text: string) => lines.push(text) } as unknown as NodeJS.WriteStream;
    const output = terminalOutput(fake);
    output.progress({
      phase: 'build',
      label: 'Writing boot files',
      bytes: 1,
      total: 2,
      bytesPerSecond: null,
      etaSeconds: null,
    });
    expect(lines[0]).toMatch(/Writing boot files {2}\[#+\.+\] {2}50%/);
  });

  it('fits narrow terminals and copes with unknown totals', () => {
    expect(
      renderProgressLine(
        { phase: 'build', label: 'Writing folders', bytes: 0, total: null, bytesPerSecond: null, etaSeconds: null },
        40,
      ),
    ).toBe('Writing folders');
    const narrow = renderProgressLine(
      { phase: 'build', label: 'Writing boot files', bytes: 1, total: 2, bytesPerSecond: 1e6, etaSeconds: 65 },
      30,
    );
    expect(narrow.length).toBeLessThanOrEqual(29);
  });
});
