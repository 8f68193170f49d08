import { describe, expect, it } from 'vitest';
import { parseMachineYaml, validateMachine } from '../../../shared/model/machine-yaml.js';
import { isSecretField } from '../../../shared/model/secret-fields.js';

/**
 * `${secret:name}` is substituted only where the value is derived or hashed (Wi-Fi psk, user and
 * root passwords). Anywhere else it would be stored on the card in clear text, and printed.
 */

const base = 'version: 1\nhostname: host\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\n';
const secrets = { token: 'hunter2-very-secret', pw: 'correct horse battery', host: 'kiosk' };
const misplaced =
  /^secrets may only be used in network\.interfaces\[\]\.wifi\.networks\[\]\.psk, users\[\]\.password and root\.password; this field is stored in clear text/;

describe('secrets where they do not belong', () => {
  it.each([
    ['hostname', base.replace('hostname: host', 'hostname: "${secret:host}"'), 'hostname', 2, 11],
    [
      'a file content',
      `${base}files:\n  - { path: /etc/motd, content: "key=\${secret:token}" }\n`,
      'files[0].content',
      6,
      33,
    ],
    [
      'a run-once script',
      `${base}run_once:\n  - name: setup\n    script: |\n      echo \${secret:token} > /etc/token\n`,
      'run_once[0].script',
      7,
      13,
    ],
    [
      'a kernel parameter',
      `${base}boot:\n  cmdline_append: ["token=\${secret:token}"]\n`,
      'boot.cmdline_append[0]',
      6,
      20,
    ],
    ['a password hash', `${base}root:\n  password_hash: "\${secret:token}"\n`, 'root.password_hash', 6, 18],
    [
      'a Wi-Fi SSID',
      `${base}network:\n  interfaces:\n    - name: wlan0\n      wifi: { country: DE, networks: [ { ssid: "\${secret:token}" } ] }\n`,
      'network.interfaces[0].wifi.networks[0].ssid',
      8,
      48,
    ],
  ])('refuses a secret in %s, at the field, line and column', (_what, text, path, line, column) => {
    for (const given of [secrets, null]) {
      const result = parseMachineYaml(text, given);
      expect(result.machine).toBeNull();
      const errors = result.issues.filter((issue) => issue.severity === 'error');
      expect(errors).toEqual([{ path, line, column, message: expect.stringMatching(misplaced), severity: 'error' }]);
      expect(JSON.stringify(result.issues)).not.toMatch(/hunter2|kiosk/);
    }
  });

  it('substitutes secrets in Wi-Fi passphrases and passwords', () => {
    const text = `${base}network:\n  interfaces:\n    - name: wlan0\n      wifi: { country: DE, networks: [ { ssid: Hall, psk: "\${secret:pw}" } ] }\nusers:\n  - { name: admin, password: "\${secret:token}" }\nroot: { password: "\${secret:pw}" }\n`;
    const result = parseMachineYaml(text, secrets);
    expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    expect(result.machine?.network.interfaces[0]?.wifi?.networks[0]?.psk).toBe('correct horse battery');
    expect(result.machine?.users[0]?.password).toBe('hunter2-very-secret');
    expect(result.machine?.root.password).toBe('correct horse battery');
  });

  it('accepts what the app form makes: the Wi-Fi passphrase as a secret', () => {
    const input = {
      version: 1,
      hostname: 'app',
      target: { board: 'rpi', arch: 'aarch64' },
      network: {
        interfaces: [
          { name: 'wlan0', wifi: { country: 'DE', networks: [{ ssid: 'x', psk: '${secret:wifi_passphrase}' }] } },
        ],
      },
    };
    expect(validateMachine(input, { wifi_passphrase: 'long enough passphrase' }).machine).not.toBeNull();
  });

  it('knows the secret fields by their path', () => {
    expect(isSecretField(['network', 'interfaces', 1, 'wifi', 'networks', 0, 'psk'])).toBe(true);
    expect(isSecretField(['users', 3, 'password'])).toBe(true);
    expect(isSecretField(['root', 'password'])).toBe(true);
    expect(isSecretField(['users', 'password'])).toBe(false);
    expect(isSecretField(['users', 0, 'password_hash'])).toBe(false);
    expect(isSecretField(['network', 'interfaces', 0, 'wifi', 'networks', 0, 'ssid'])).toBe(false);
  });
});
