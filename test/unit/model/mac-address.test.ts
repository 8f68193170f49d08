import { describe, expect, it } from 'vitest';
import { parseMachineYaml } from '../../../shared/model/machine-yaml.js';
import { macProblem, parseMac } from '../../../shared/rules/network.js';

const definition = (interfaces: string) =>
  `version: 1\nhostname: m\ntarget: { board: rpi, arch: aarch64 }\nnetwork:\n  interfaces:\n${interfaces}`;

describe('MAC addresses of network interfaces', () => {
  it('reads :, - and no separators in any case as the lower-case colon form', () => {
    for (const text of ['DC:A6:32:01:02:03', 'dc-a6-32-01-02-03', 'DCA632010203'])
      expect(parseMac(text)).toBe('dc:a6:32:01:02:03');
    for (const text of ['dc:a6:32:01:02', 'dc:a6-32:01:02:03', 'dc.a6.32.01.02.03', 'gg:a6:32:01:02:03'])
      expect(parseMac(text)).toBeNull();
    expect(macProblem('ff:ff:ff:ff:ff:ff')).toMatch(/multicast/);
    expect(macProblem('00:00:00:00:00:00')).toMatch(/all-zero/);
    expect(macProblem('02:00:00:00:00:01')).toBeNull();
  });

  it('is optional, validated and normalised by the schema', () => {
    const parsed = parseMachineYaml(definition('    - { name: eth0, mac: "DC-A6-32-01-02-03" }\n'), null);
    expect(parsed.machine?.network.interfaces[0]?.mac).toBe('dc:a6:32:01:02:03');
    expect(parseMachineYaml(definition('    - { name: eth0 }\n'), null).machine?.network.interfaces[0]?.mac).toBe(
      undefined,
    );
  });

  it('says which field is wrong, on its line', () => {
    const parsed = parseMachineYaml(definition('    - { name: eth0 }\n    - { name: eth1, mac: "dc:a6:32" }\n'), null);
    expect(parsed.machine).toBeNull();
    expect(parsed.issues).toContainEqual(
      expect.objectContaining({
        path: 'network.interfaces[1].mac',
        line: 7,
        message: expect.stringMatching(/not a MAC/),
      }),
    );
  });

  it('asks for quotes when YAML reads the MAC as a number', () => {
    const parsed = parseMachineYaml(definition('    - { name: eth0, mac: 525400000020 }\n'), null);
    expect(parsed.issues).toContainEqual(
      expect.objectContaining({ path: 'network.interfaces[0].mac', message: expect.stringMatching(/in quotes/) }),
    );
  });

  it('refuses the same MAC on two interfaces', () => {
    const parsed = parseMachineYaml(
      definition('    - { name: eth0, mac: "dc:a6:32:01:02:03" }\n    - { name: eth1, mac: DCA632010203 }\n'),
      null,
    );
    expect(parsed.issues).toContainEqual(
      expect.objectContaining({
        path: 'network.interfaces[1].mac',
        message: 'the MAC address dc:a6:32:01:02:03 is already given to network.interfaces[0]',
      }),
    );
  });
});
