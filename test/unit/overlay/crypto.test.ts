import { execFileSync, spawnSync } from 'node:child_process';
import { mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { missing } from '../../helpers/requirements.js';
import { derivedSalt, sha512Crypt } from '../../../main/services/overlay/crypt.js';
import { ed25519HostKey } from '../../../main/services/overlay/ssh-host-key.js';
import { deriveWpaPsk } from '../../../main/services/overlay/wifi-psk.js';

describe('SHA-512-crypt', () => {
  it('gives the results of the specification and of glibc crypt(3)', () => {
    // Drepper's test vectors; the third was computed with Python's crypt module.
    expect(sha512Crypt('Hello world!', 'saltstring')).toBe(
      '$6$saltstring$svn8UoSVapNtMuq1ukKS4tPQd8iKwSMHWjl/O817G3uBnIFNjnQJuesI68u4OTLiBFdcbYEdFCoEOfaS35inz1',
    );
    expect(sha512Crypt('Hello world!', 'saltstringsaltstring', 10000)).toBe(
      '$6$rounds=10000$saltstringsaltst$OW1/O6BYHV6BcXZu8QVeXbDWra3Oeqh0sbHbbMCVNSnCM/UrjmM0Dp8vOuZeHBy/YTBmSK6H9qs/y3RnOaw5v.',
    );
    expect(sha512Crypt('correct horse', 'abcdefghijklmnop')).toBe(
      '$6$abcdefghijklmnop$q2YZbPhm1LySTIzZVDisu/y2CX1McrFsw529ViOLMxoKT.sfgjBo4aFu.hwtGjEDxRb6mn/TZMj7V4/1AUTLi1',
    );
  });

  it('derives salts that are stable per user and host and differ between them', () => {
    expect(derivedSalt('pw', 'host/admin')).toBe(derivedSalt('pw', 'host/admin'));
    expect(derivedSalt('pw', 'host/admin')).not.toBe(derivedSalt('pw', 'host/bob'));
    expect(derivedSalt('pw', 'host/admin')).toMatch(/^[./0-9A-Za-z]{16}$/);
  });
});

describe('WPA PSK', () => {
  it('matches the IEEE 802.11i test vectors', () => {
    expect(deriveWpaPsk('password', 'IEEE')).toBe('f42c6fc52df0ebef9ebb4b90b38a5f902e83fe1b135a70e23aed762e9710a12e');
    expect(deriveWpaPsk('ThisIsAPassword', 'ThisIsASSID')).toBe(
      '0dc0d6eb90555ed6419756b9a15ec3e3209b63df707dd508d14581f8982721af',
    );
  });

  it('passes a 64-hex PSK through', () => {
    expect(deriveWpaPsk('A'.repeat(64), 'x')).toBe('a'.repeat(64));
  });
});

const haveSshKeygen = spawnSync('ssh-keygen', ['-?']).error === undefined;

describe.skipIf(missing(haveSshKeygen, 'ssh-keygen (Debian package openssh-client)'))(
  'SSH host key (checked with ssh-keygen)',
  () => {
    it('is a valid OpenSSH ed25519 key whose public half and fingerprint ssh-keygen agrees with', () => {
      const key = ed25519HostKey(Buffer.alloc(32, 7), 'root@test');
      const dir = mkdtempSync(path.join(os.tmpdir(), 'apkovl-key-'));
      const file = path.join(dir, 'key');
      writeFileSync(file, key.privateKey, { mode: 0o600 });
      expect(execFileSync('ssh-keygen', ['-y', '-f', file], { encoding: 'utf8' }).trim()).toBe(key.publicKey.trim());
      expect(execFileSync('ssh-keygen', ['-l', '-f', file], { encoding: 'utf8' })).toContain(key.fingerprint);
      expect(ed25519HostKey(Buffer.alloc(32, 7), 'root@test')).toEqual(key);
      expect(ed25519HostKey(Buffer.alloc(32, 8), 'root@test').publicKey).not.toBe(key.publicKey);
    });
  },
);
