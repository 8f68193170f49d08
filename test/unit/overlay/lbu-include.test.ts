import { describe, expect, it } from 'vitest';
import { generateOverlay } from '../../../main/services/overlay/generate.js';
import { noSources } from '../../../main/services/overlay/source-files.js';
import { parseMachineYaml } from '../../../shared/model/machine-yaml.js';

const KEY = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOpKbGPinFIKvvVQexMuxfmVR3auvr57kkIe6mkURtIs test@example';

function lbuList(yaml: string): string[] | null {
  const parsed = parseMachineYaml(`version: 1\nhostname: box\ntarget: { board: rpi, arch: aarch64 }\n${yaml}`, null);
  if (parsed.machine === null) throw new Error(JSON.stringify(parsed.issues));
  const entry = generateOverlay(parsed.machine, { sources: noSources(), toolVersion: '1.2.3' }).entries.find(
    (candidate) => candidate.path === 'etc/apk/protected_paths.d/lbu.list',
  );
  return entry?.type === 'file' ? entry.content.toString('utf8').split('\n') : null;
}

/**
 * lbu commit saves what `apk audit --backup` lists: changed files under /etc, but in /etc/init.d
 * only symbolic links (apk protects it with @), plus the +paths of lbu.list. The overlay must
 * name everything else it ships, or the first commit drops it from the card.
 */
describe('lbu.list with persistence.lbu', () => {
  it('names the files lbu would leave out: services, /root, /usr/local, home folders', () => {
    const list = lbuList(
      `report: false\nroot: { ssh_authorized_keys: ["${KEY}"] }\nkiosk: { url: "https://example.org/" }\npersistence: { lbu: true }\n`,
    );
    expect(list).toEqual(
      expect.arrayContaining([
        '+etc/init.d/apkovl-packages',
        '+home/kiosk',
        '+root/.ssh/authorized_keys',
        '+usr/local/bin/kiosk-browser',
        '+usr/share/icons/apkovl-hidden/cursors/left_ptr',
      ]),
    );
    expect(list?.filter((line) => line.startsWith('+etc/') && !line.startsWith('+etc/init.d/'))).toEqual([]);
    expect(list?.filter((line) => line.startsWith('+home/kiosk/'))).toEqual([]);
    expect(list?.at(-1)).toBe('');
  });

  it('is not written without lbu, nor when lbu keeps everything by itself', () => {
    expect(lbuList(`root: { ssh_authorized_keys: ["${KEY}"] }\n`)).toBeNull();
    expect(lbuList('report: false\nssh: { enable: false }\npersistence: { lbu: true }\n')).toBeNull();
  });
});
