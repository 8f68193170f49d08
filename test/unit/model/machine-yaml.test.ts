import { describe, expect, it } from 'vitest';
import { machineJsonSchema } from '../../../shared/model/machine.js';
import { parseMachineYaml, parseSecrets } from '../../../shared/model/machine-yaml.js';

const base = 'version: 1\nhostname: host\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\n';

function errors(text: string, secrets: Record<string, string> | null = null) {
  const result = parseMachineYaml(text, secrets);
  expect(result.machine).toBeNull();
  return result.issues.filter((issue) => issue.severity === 'error');
}

describe('machine definitions from YAML', () => {
  it('accepts a minimal definition and applies the defaults', () => {
    const result = parseMachineYaml(base, null);
    expect(result.machine).toMatchObject({
      hostname: 'host',
      alpine: { branch: 'latest-stable', repositories: ['main', 'community'] },
      timezone: 'UTC',
      network: { interfaces: [{ name: 'eth0', ipv4: 'dhcp', ipv6: 'none' }] },
      root: { password: 'locked' },
      persistence: { lbu: false, apk_cache: false, install_to_disk: null },
    });
  });

  it.each([
    ['a bad host name', base.replace('hostname: host', 'hostname: bad_host'), 'hostname', 2, /not a valid host label/],
    [
      'a bad CIDR',
      `${base}network:\n  interfaces:\n    - { name: eth0, ipv4: { address: 192.168.1.300/24 } }\n`,
      'network.interfaces[0].ipv4.address',
      7,
      /not an IPv4 address/,
    ],
    [
      'a CIDR without prefix',
      `${base}network:\n  interfaces:\n    - { name: eth0, ipv4: { address: 192.168.1.3 } }\n`,
      'network.interfaces[0].ipv4.address',
      7,
      /with its prefix length/,
    ],
    [
      'an unknown key',
      `${base}timezon: Europe/Berlin\n`,
      'timezon',
      5,
      /unknown key "timezon"; did you mean timezone\?/,
    ],
    ['a wrong type', `${base}users: { name: admin }\n`, 'users', 5, /expected array/],
    [
      'a duplicate user',
      `${base}users:\n  - { name: admin }\n  - { name: admin }\n`,
      'users[1].name',
      7,
      /defined twice/,
    ],
    [
      'Wi-Fi without country',
      `${base}network:\n  interfaces:\n    - name: wlan0\n      wifi: { networks: [ { ssid: x } ] }\n`,
      'network.interfaces[0].wifi.country',
      8,
      /required/,
    ],
    [
      'a file path escaping /',
      `${base}files:\n  - { path: /etc/../../root/x, content: y }\n`,
      'files[0].path',
      6,
      /leaves its folder/,
    ],
    [
      'a file path under /lib',
      `${base}files:\n  - { path: /lib/apk/db/installed, content: y }\n`,
      'files[0].path',
      6,
      /Alpine's packages own/,
    ],
    [
      'a board that does not fit the arch',
      base.replace('arch: aarch64', 'arch: x86_64'),
      'target.arch',
      3,
      /Raspberry Pi is aarch64/,
    ],
    [
      'a mode that is not quoted octal',
      `${base}files:\n  - { path: /etc/x, content: y, mode: 644 }\n`,
      'files[0].mode',
      6,
      /octal and quoted/,
    ],
    ['a YAML syntax error', `${base}users: [\n`, '(yaml)', 6, /./],
    ['a duplicate key', `${base}hostname: again\n`, '(yaml)', 5, /unique/],
  ])('refuses %s, naming the field and the line', (_what, text, path, line, message) => {
    const found = errors(text);
    expect(found.length).toBeGreaterThan(0);
    const issue = found.find((candidate) => candidate.path === path);
    expect(issue, JSON.stringify(found)).toBeDefined();
    expect(issue?.line).toBe(line);
    expect(issue?.message).toMatch(message);
  });

  it('substitutes secrets and never puts a secret value in a message', () => {
    const text = `${base}network:\n  interfaces:\n    - name: wlan0\n      wifi: { country: DE, networks: [ { ssid: x, psk: "\${secret:short}" } ] }\n`;
    const found = errors(text, { short: 'tiny-pw' });
    expect(found[0]?.path).toBe('network.interfaces[0].wifi.networks[0].psk');
    expect(JSON.stringify(found)).not.toContain('tiny-pw');
    const ok = parseMachineYaml(text, { short: 'long enough passphrase' });
    expect(ok.machine?.network.interfaces[0]?.wifi?.networks[0]?.psk).toBe('long enough passphrase');
  });

  it('says when a secret is missing, or when no secrets file was given', () => {
    const text = `${base}users:\n  - { name: a, password: "\${secret:pw}" }\n`;
    expect(errors(text)[0]?.message).toMatch(/no secrets file was given/);
    expect(errors(text, {})[0]?.message).toMatch(/the secret pw is not in the secrets file/);
  });

  it('reads secrets files and refuses malformed ones', () => {
    expect(parseSecrets('a: one\nb: 2\n')).toEqual({ secrets: { a: 'one', b: '2' }, issues: [] });
    expect(parseSecrets('- a\n').issues[0]?.message).toMatch(/mapping/);
    expect(parseSecrets('a: [1]\n').issues[0]?.message).toMatch(/text value/);
  });

  it('warns about the template example key and SSH without a way in', () => {
    const result = parseMachineYaml('version: 1\nhostname: h\ntarget: { board: rpi, arch: aarch64 }\n', null);
    expect(result.issues).toEqual([
      expect.objectContaining({
        path: 'ssh',
        severity: 'warning',
        message: expect.stringMatching(/nobody can log in/),
      }),
    ]);
  });

  it('exports a JSON Schema for editors', () => {
    const schema = machineJsonSchema();
    expect(schema).toMatchObject({
      $schema: 'https://json-schema.org/draft/2020-12/schema',
      type: 'object',
      required: ['version', 'hostname', 'target'],
    });
  });
});
