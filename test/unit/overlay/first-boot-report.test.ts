import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { REPORT_PROGRAM, REPORT_SERVICE } from '../../../main/services/overlay/first-boot-report.js';
import { generateOverlay } from '../../../main/services/overlay/generate.js';
import type { OverlayEntry } from '../../../main/services/overlay/overlay-entry.js';
import { noSources } from '../../../main/services/overlay/source-files.js';
import { parseMachineYaml } from '../../../shared/model/machine-yaml.js';

function overlayOf(yaml: string) {
  const parsed = parseMachineYaml(`version: 1\nhostname: box\nssh: { enable: false }\n${yaml}`, null);
  if (parsed.machine === null) throw new Error(JSON.stringify(parsed.issues));
  return generateOverlay(parsed.machine, { sources: noSources(), toolVersion: '1.2.3' });
}

const paths = (entries: OverlayEntry[]) => entries.map((entry) => entry.path);
const text = (entries: OverlayEntry[], file: string) => {
  const entry = entries.find((candidate) => candidate.path === file);
  return entry?.type === 'file' ? entry.content.toString('utf8') : null;
};
const PI = 'target: { board: rpi, arch: aarch64 }\n';
const PC = 'target: { board: x86_64-uefi, arch: x86_64 }\n';

describe('the first-boot report in generated overlays', () => {
  it('is on by default: its service runs in the default runlevel, before local', () => {
    const { entries } = overlayOf(PI);
    const service = entries.find((entry) => entry.path === `etc/init.d/${REPORT_SERVICE}`);
    const program = entries.find((entry) => entry.path === REPORT_PROGRAM);
    expect(service).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    expect(program).toMatchObject({ type: 'file', mode: 0o755, uid: 0, gid: 0 });
    expect(entries).toContainEqual(
      expect.objectContaining({ path: 'etc/runlevels/default/apkovl-report', target: '/etc/init.d/apkovl-report' }),
    );
    expect(entries).toContainEqual(
      expect.objectContaining({ path: 'etc/runlevels/default/local', target: '/etc/init.d/local' }),
    );
    expect(text(entries, `etc/init.d/${REPORT_SERVICE}`)).toMatch(/^#!\/sbin\/openrc-run\n/);
    expect(text(entries, `etc/init.d/${REPORT_SERVICE}`)).toContain('\tafter *\n\tbefore local\n');
  });

  it('records the tool version and looks first where the target mounts its boot media', () => {
    expect(text(overlayOf(PI).entries, REPORT_PROGRAM)).toMatch(
      /\ngenerator_version='1\.2\.3'\nexpected_mount='\/media\/mmcblk0p1'\n/,
    );
    expect(text(overlayOf(PC).entries, REPORT_PROGRAM)).toContain("\nexpected_mount='/media/usb'\n");
  });

  it('is absent with report: false, and local with it unless run-once scripts need it', () => {
    const off = paths(overlayOf(`${PI}report: false\n`).entries);
    expect(off.filter((file) => /apkovl-report|runlevels\/default\/local/.test(file))).toEqual([]);
    expect(off.some((file) => file.startsWith('usr/'))).toBe(false);
    const runOnce = paths(overlayOf(`${PI}report: false\nrun_once: [{ name: hi, script: "echo hi" }]\n`).entries);
    expect(runOnce).toContain('etc/runlevels/default/local');
    expect(runOnce.filter((file) => file.includes('apkovl-report'))).toEqual([]);
  });

  it('is kept by lbu commit: lbu.list names the files lbu would otherwise leave out', () => {
    const list = text(overlayOf(`${PI}persistence: { lbu: true }\n`).entries, 'etc/apk/protected_paths.d/lbu.list');
    expect(list?.split('\n')).toEqual(expect.arrayContaining([`+etc/init.d/${REPORT_SERVICE}`, `+${REPORT_PROGRAM}`]));
  });

  it('runs a program whose text is the golden one', () => {
    const program = text(overlayOf(PI).entries, REPORT_PROGRAM) ?? '';
    const file = path.resolve('test/fixtures/golden/first-boot-report-program.txt');
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, program);
    expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
    expect(program).toBe(readFileSync(file, 'utf8'));
    expect(program).not.toMatch(/\r|\$\{/);
  });
});
