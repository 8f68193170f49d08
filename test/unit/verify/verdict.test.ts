import { describe, expect, it } from 'vitest';
import { change, makeCheck, problem } from '../../../main/services/verify/checks.js';
import { conclude } from '../../../main/services/verify/verdict.js';
import { verdictExitCode } from '../../../shared/model/verify-report.js';

const context = { writtenBy: 'apkovl-studio 0.1.0', mediaCompared: false };
const ok = makeCheck('partition', 'Partition table', { summary: 'fine' });

describe('the verdict', () => {
  it('is good with nothing to report, changed with changes only, and both exit 0', () => {
    expect(conclude([ok], context)).toEqual({
      verdict: 'good',
      headline: 'Good: the card is exactly as apkovl-studio 0.1.0 wrote it.',
      todo: [],
    });
    expect(conclude([ok], { writtenBy: null, mediaCompared: true }).headline).toBe(
      'Good: every check that could run passed; without a manifest, files were checked against the boot media only.',
    );
    const changed = makeCheck('apkovl', 'The apkovl', { summary: 's', changes: [change('saved again (lbu commit)')] });
    const warned = makeCheck('filesystem', 'FAT', {
      summary: 's',
      problems: [problem('warning', 'stale FSInfo', { hint: 'fsck.fat -a' })],
    });
    expect(warned.status).toBe('warning');
    expect(conclude([ok, changed, warned], context)).toEqual({
      verdict: 'changed',
      headline: 'Good, with 1 change made on purpose since it was written (1 warning).',
      todo: ['fsck.fat -a'],
    });
    expect(verdictExitCode('good')).toBe(0);
    expect(verdictExitCode('changed')).toBe(0);
  });

  it('puts damage before faults, names the damaged files escaped, and lists each hint once, worst first', () => {
    const fault = makeCheck('apkovl', 'The apkovl', {
      summary: 's',
      problems: [problem('fault', 'two apkovls', { hint: 'delete one' })],
    });
    const damage = makeCheck('manifest', 'Files', {
      summary: 's',
      problems: [
        problem('damage', 'a', { paths: ['boot/vmlinuz-rpi'], hint: 'write the card again' }),
        problem('damage', 'b', { paths: ['evil\x1b[2J'], hint: 'write the card again' }),
      ],
    });
    expect(fault.status).toBe('failed');
    expect(conclude([fault], context).verdict).toBe('faulty');
    expect(conclude([fault, damage], context)).toEqual({
      verdict: 'damaged',
      headline:
        'Damaged: boot/vmlinuz-rpi and evil\\x1b[2J are not as written; the card may not boot, or boot wrongly.',
      todo: ['write the card again', 'delete one'],
    });
    expect(verdictExitCode('damaged')).toBe(1);
    expect(verdictExitCode('faulty')).toBe(1);
  });

  it('a skipped check fails nothing', () => {
    const skipped = makeCheck('boot-media', 'Media', { summary: 'no media', skipped: true });
    expect(skipped.status).toBe('skipped');
    expect(conclude([ok, skipped], context).verdict).toBe('good');
  });
});
