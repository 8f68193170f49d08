import { describe, expect, it } from 'vitest';
import { parseMachineYaml, parseSecrets } from '../../../shared/model/machine-yaml.js';

/**
 * YAML aliases that cannot become data are input errors at the alias, with its line and column,
 * never a crash: a "billion laughs", an alias without its anchor, an alias looping into itself.
 */

const base = 'version: 1\nhostname: host\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\n';
const laughs = [
  'x-a: &a [lol, lol, lol, lol, lol, lol, lol, lol, lol, lol]',
  'x-b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]',
  'x-c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]',
  'x-d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]',
  'x-e: &e [*d, *d, *d, *d, *d, *d, *d, *d, *d, *d]',
].join('\n');

function onlyError(text: string) {
  const result = parseMachineYaml(text, null);
  expect(result.machine).toBeNull();
  expect(result.issues).toHaveLength(1);
  return result.issues[0];
}

describe('YAML aliases in a definition', () => {
  it('reports a billion laughs at the alias that expands the most', () => {
    expect(onlyError(`${base}${laughs}\n`)).toEqual({
      path: '(yaml)',
      line: 9,
      column: 10,
      message: expect.stringMatching(/^the YAML aliases expand to too much data \(\*d here stands for 11111 values\)/),
      severity: 'error',
    });
  });

  it('reports an alias without its anchor', () => {
    expect(onlyError(`${base}users:\n  - { name: a, groups: *missing }\n`)).toEqual({
      path: '(yaml)',
      line: 6,
      column: 24,
      message: 'the alias *missing refers to no anchor: define &missing before it',
      severity: 'error',
    });
  });

  it('escapes control characters of alias names in its messages', () => {
    expect(onlyError(`${base}services:\n  default:\n    - *x\x1bc\n`)?.message).toBe(
      'the alias *x\\x1bc refers to no anchor: define &x\\x1bc before it',
    );
  });

  it('reports an alias inside the node it refers to', () => {
    expect(onlyError(`${base}services: &loop\n  default: [*loop]\n`)).toMatchObject({
      path: '(yaml)',
      line: 6,
      column: 13,
      message: expect.stringMatching(/^the alias \*loop is inside the node &loop it refers to/),
    });
  });

  it('still reads ordinary anchors and aliases', () => {
    const text = `${base}users:\n  - { name: a, ssh_authorized_keys: &keys ["ssh-ed25519 AAAA me@x"] }\n  - { name: b, ssh_authorized_keys: *keys }\n`;
    const result = parseMachineYaml(text, null);
    expect(result.machine?.users.map((user) => user.ssh_authorized_keys)).toEqual([
      ['ssh-ed25519 AAAA me@x'],
      ['ssh-ed25519 AAAA me@x'],
    ]);
  });
});

describe('YAML aliases in a secrets file', () => {
  it('refuses them as values, at their line, without expanding them', () => {
    const { secrets, issues } = parseSecrets(`${laughs.replace(/x-/g, 'k')}\nwifi: &w "a passphrase"\ncopy: *w\n`);
    expect(secrets).toEqual({ wifi: 'a passphrase' });
    expect(issues.map((issue) => [issue.path, issue.line, issue.message])).toEqual([
      ['ka', 1, 'the secret ka must be a text value'],
      ['kb', 2, 'the secret kb must be a text value'],
      ['kc', 3, 'the secret kc must be a text value'],
      ['kd', 4, 'the secret kd must be a text value'],
      ['ke', 5, 'the secret ke must be a text value'],
      ['copy', 7, 'the secret copy is an alias (*w): write the value itself'],
    ]);
  });
});
