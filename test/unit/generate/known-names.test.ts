import { describe, expect, it } from 'vitest';
import { keymapsFromBaseLst, timeZonesFromTzdata } from '../../generate/known-names.js';

/** The generator of shared/data: names read the way Alpine's packages make the files. */

describe('time zones from tzdata.zi', () => {
  it('takes every zone and link, less Factory, with the version', () => {
    const text = [
      '# version 2025b',
      'R d 1916 o - Jun 14 23s 1 S',
      'Z Europe/Berlin 0:53:28 - LMT 1893 Ap',
      'Z Factory 0 - -00',
      'Z Etc/UTC 0 - UTC',
      'L Etc/UTC UTC',
      'L America/New_York US/Eastern',
    ].join('\n');
    expect(timeZonesFromTzdata(text)).toEqual({
      version: '2025b',
      names: ['Etc/UTC', 'Europe/Berlin', 'US/Eastern', 'UTC'],
    });
  });
});

describe('keymaps from base.lst, as aports main/kbd/APKBUILD builds kbd-bkeymaps', () => {
  const lst = [
    '! model',
    '  pc105           Generic 105-key PC',
    '',
    '! layout',
    '  us              English (US)',
    '  mv              Dhivehi',
    '',
    '! variant',
    '  dvorak          us: English (Dvorak)',
    '  nodeadkeys      de: German (no dead keys)',
    '  classic         fi: Finnish (classic)',
    '  ara             pk: Arabic (Pakistan)',
    '  snd             pk: Sindhi',
    '',
    '! option',
    '  grp:switch      Right Alt (while pressed)',
  ].join('\n');

  it('makes a map per layout with variants and one per variant, renaming fi and skipping pk-ara', () => {
    const maps = keymapsFromBaseLst(lst);
    expect(Object.fromEntries([...maps].map(([layout, names]) => [layout, [...names].sort()]))).toEqual({
      us: ['us', 'us-dvorak'],
      de: ['de', 'de-nodeadkeys'],
      fi: ['fi-classic', 'fi-kotoistus'],
      pk: ['pk', 'pk-snd'],
    });
  });
});
