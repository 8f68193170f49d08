import { describe, expect, it } from 'vitest';
import { describeVerifyReport } from '../../../main/cli/verify-text.js';
import { makeCheck, problem } from '../../../main/services/verify/checks.js';
import type { VerifyReport } from '../../../shared/model/verify-report.js';

function report(overrides: Partial<VerifyReport> = {}): VerifyReport {
  return {
    verdict: 'faulty',
    headline: 'Faulty: the card reads back intact, but 1 problem keeps it from working as intended.',
    card: {
      medium: { kind: 'image', path: 'card.img', bytes: 65 << 20 },
      partition: { number: 1, type: 0x0c, startByte: 1 << 20, bytes: 64 << 20, bootable: true },
      volume: { label: 'KIOSK', serial: '1234-ABCD', clusterSize: 512, clusters: 129_000 },
      alpineRelease: 'alpine-rpi-3.22.2 251009',
      alpineVersion: '3.22.2',
      branch: 'v3.22',
      arch: 'aarch64',
      board: 'rpi',
      apkovl: {
        name: 'evil\x1b]0;owned\x07.apkovl.tar.gz',
        hostname: 'evil\nBuilt fake.img',
        bytes: 8656,
        members: 72,
        sha256: 'a'.repeat(64),
        modified: '2026-11-28T10:00:00.000Z',
      },
      manifest: null,
      freeBytes: 53 << 20,
    },
    checks: [
      makeCheck('partition', 'Partition table', { summary: 'MBR, partition 1', details: ['hidden when ok'] }),
      makeCheck('apkovl', 'The apkovl', {
        summary: '2 apkovls',
        problems: [
          problem('fault', 'there are 2 apkovls', {
            paths: ['a', 'b'],
            ranges: [
              { start: 100, end: 200 },
              { start: 300, end: 301 },
              { start: 400, end: 500 },
              { start: 600, end: 700 },
            ],
            hint: 'delete one',
          }),
        ],
      }),
    ],
    firstBoot: { reportedAt: '2026-11-28T10:02:41Z', lines: ['booted on a Raspberry Pi 4 Model B'] },
    definition: null,
    bootMedia: null,
    todo: ['delete one'],
    tool: { name: 'apkovl-studio', version: '0.1.0' },
    seconds: 1,
    ...overrides,
  };
}

describe('the verify report as text', () => {
  const text = describeVerifyReport(report());

  it('shows the verdict, one line per fine check, problems with where they are, and what to do', () => {
    expect(text.startsWith('card.img: FAULTY\nFaulty: the card reads back intact')).toBe(true);
    expect(text).toMatch(/^ {2}ok {7}Partition table {20}MBR, partition 1$/m);
    expect(text).not.toContain('hidden when ok');
    expect(text).toMatch(/^ {2}FAILED {3}The apkovl {25}2 apkovls\n {11}fault: there are 2 apkovls\n/m);
    expect(text).toContain('at bytes 100-199, bytes 300-300, bytes 400-499, 1 more range of card.img');
    expect(text).toContain('First boot (reported 2026-11-28T10:02:41Z)\n  booted on a Raspberry Pi 4 Model B');
    expect(text.endsWith('What to do\n  - delete one\n')).toBe(true);
  });

  it('escapes what comes from the card: no control character reaches the terminal', () => {
    expect(text).toContain('evil\\x1b]0;owned\\x07.apkovl.tar.gz: host evil\\nBuilt fake.img');
    // eslint-disable-next-line no-control-regex
    expect(text.replace(/\n/g, '')).not.toMatch(/[\u0000-\u001f\u007f]/);
  });
});
