import { describe, expect, it } from 'vitest';
import { templates } from '../../../main/services/machine/templates.js';
import { parseMachineYaml } from '../../../shared/model/machine-yaml.js';
import { keymapProblem } from '../../../shared/rules/keymap.js';
import { timeZoneProblem } from '../../../shared/rules/time-zone.js';

/**
 * `timezone` and `keymap` name files Alpine has (/usr/share/zoneinfo/<zone>,
 * /usr/share/bkeymaps/<layout>/<variant>.bmap.gz): anything else is refused at its line, with
 * the name that was probably meant.
 */

const base = 'version: 1\nhostname: host\ntarget: { board: rpi, arch: aarch64 }\nssh: { enable: false }\n';

describe('time zones', () => {
  it.each([
    'UTC',
    'Europe/Berlin',
    'America/Argentina/Buenos_Aires',
    'Etc/GMT+5',
    'EST5EDT',
    'US/Eastern',
    'Asia/Kolkata',
  ])('accepts %s', (zone) => expect(timeZoneProblem(zone)).toBeNull());

  it.each([
    ['europe/berlin', 'Europe/Berlin'],
    ['Europe/Berln', 'Europe/Berlin'],
    ['Berlin', 'Europe/Berlin'],
    ['America/New York', 'America/New_York'],
    ['Asia/Calcuta', 'Asia/Calcutta'],
  ])('refuses %s, suggesting %s', (zone, suggestion) => {
    expect(timeZoneProblem(zone)).toBe(
      `not a time zone of Alpine's tzdata (IANA names, as in /usr/share/zoneinfo); did you mean ${suggestion}?`,
    );
  });

  it.each(['Mars/Olympus_Mons', 'Factory', 'localtime', ''])('refuses %j without a guess', (zone) => {
    expect(timeZoneProblem(zone)).toMatch(/not a time zone .*; use a name such as Europe\/Berlin/);
  });
});

describe('console keymaps', () => {
  it.each(['us us', 'de de-nodeadkeys', 'fr fr-bepo', 'gb gb-extd', 'fi fi-kotoistus', 'de de-T3', 'ch ch-fr'])(
    'accepts %s',
    (keymap) => expect(keymapProblem(keymap)).toBeNull(),
  );

  it.each([
    ['de nodeadkeys', 'de de-nodeadkeys'],
    ['de nodeadkys', 'de de-nodeadkeys'],
    ['us dvorakk', 'us us-dvorak'],
    ['uk uk', 'gb gb'],
    ['dee de', 'de de'],
    ['de', 'de de'],
    ['de-nodeadkeys', 'de de-nodeadkeys'],
    ['us  us', 'us us'],
  ])('refuses %j, suggesting %j', (keymap, suggestion) => {
    expect(keymapProblem(keymap)).toMatch(new RegExp(`; did you mean "${suggestion}"\\?$`));
  });

  it('refuses maps Alpine leaves out, listing what the layout has', () => {
    // The APKBUILD renames fi.map.gz to fi-kotoistus and skips pk-ara.
    expect(keymapProblem('fi fi')).toBe(
      "Alpine's kbd-bkeymaps has no keymap fi/fi; fi has fi-classic, fi-kotoistus, fi-mac, fi-nodeadkeys, fi-smi, fi-winkeys",
    );
    expect(keymapProblem('pk pk-ara')).toMatch(/^Alpine's kbd-bkeymaps has no keymap pk\/pk-ara; pk has pk, /);
    expect(keymapProblem('xx yy')).toBe(
      'Alpine\'s kbd-bkeymaps has no layout "xx"; layouts are XKB names such as us, gb, de, fr',
    );
    expect(keymapProblem('us us us')).toBe('write "layout variant", e.g. "us us" or "de de-nodeadkeys"');
  });

  it('accepts every template', () => {
    for (const template of templates) {
      const result = parseMachineYaml(template.definition, { wifi_hall: 'a long passphrase' });
      expect(result.issues.filter((issue) => issue.severity === 'error')).toEqual([]);
    }
  });
});

describe('in a definition', () => {
  it('reports a time zone and a keymap at their line and column', () => {
    const result = parseMachineYaml(`${base}timezone: Europe/Berln\nkeymap: de nodeadkeys\n`, null);
    expect(result.machine).toBeNull();
    expect(result.issues).toEqual([
      {
        path: 'timezone',
        line: 5,
        column: 11,
        message: expect.stringMatching(/did you mean Europe\/Berlin\?$/),
        severity: 'error',
      },
      {
        path: 'keymap',
        line: 6,
        column: 9,
        message: expect.stringMatching(/did you mean "de de-nodeadkeys"\?$/),
        severity: 'error',
      },
    ]);
  });
});
