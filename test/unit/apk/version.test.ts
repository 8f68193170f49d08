import { readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import fc from 'fast-check';
import { describe, expect, it } from 'vitest';
import {
  EQUAL,
  FUZZY,
  GREATER,
  LESS,
  compareVersions,
  isValidVersion,
  operatorMask,
  operatorText,
  versionMatches,
} from '../../../main/services/apk/version.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const vectorFile = path.resolve(here, '../../fixtures/apk/version.data');

interface Vector {
  line: number;
  text: string;
  check: () => boolean;
}

/** apk-tools' version.data: "a OP b", "a !OP b", "v" (valid) and "!v" (invalid). */
function readVectors(): Vector[] {
  const vectors: Vector[] = [];
  readFileSync(vectorFile, 'utf8')
    .split('\n')
    .forEach((raw, index) => {
      const text = (raw.split('#')[0] ?? '').trim();
      if (text === '') return;
      const parts = text.split(/\s+/);
      if (parts.length === 3) {
        const [a, op, b] = parts as [string, string, string];
        const invert = op.startsWith('!');
        const mask = operatorMask(invert ? op.slice(1) : op);
        if (mask === undefined) throw new Error(`line ${index + 1}: unknown operator ${op}`);
        vectors.push({ line: index + 1, text, check: () => versionMatches(a, mask, b) !== invert });
      } else {
        const invert = text.startsWith('!');
        const version = invert ? text.slice(1) : text;
        vectors.push({ line: index + 1, text, check: () => isValidVersion(version) !== invert });
      }
    });
  return vectors;
}

describe('apk version comparison against apk-tools test vectors', () => {
  const vectors = readVectors();

  it('reads the whole vector file', () => {
    expect(vectors.length).toBeGreaterThan(750);
    expect(vectors.some((vector) => vector.text.includes('~'))).toBe(true);
    expect(vectors.some((vector) => vector.text.startsWith('!'))).toBe(true);
  });

  it('passes every vector', () => {
    const failures = vectors.filter((vector) => !vector.check()).map((vector) => `line ${vector.line}: ${vector.text}`);
    expect(failures).toEqual([]);
  });
});

describe('compareVersions', () => {
  it('orders suffixes, letters, hashes and revisions', () => {
    const ordered = [
      '1.0_alpha',
      '1.0_alpha1',
      '1.0_beta',
      '1.0_pre2',
      '1.0_rc1',
      '1.0',
      '1.0-r1',
      '1.0~abc',
      '1.0_cvs',
      '1.0_svn',
      '1.0_git20240101',
      '1.0_hg',
      '1.0_p1',
      '1.0_p2-r3',
      '1.0a',
      '1.0b',
      '1.0.1',
      '1.1',
      '10',
    ];
    for (let index = 1; index < ordered.length; index += 1) {
      expect(compareVersions(ordered[index - 1] as string, ordered[index] as string), ordered[index]).toBe(-1);
      expect(compareVersions(ordered[index] as string, ordered[index - 1] as string)).toBe(1);
    }
  });

  it('compares long numbers without losing precision', () => {
    expect(compareVersions('1.99999999999999999998', '1.99999999999999999999')).toBe(-1);
    expect(compareVersions('12345678901234567890', '12345678901234567891')).toBe(-1);
  });

  it('fuzzy matches stop at the pattern', () => {
    expect(compareVersions('3.6.9-r2', '3.6', true)).toBe(0);
    expect(compareVersions('3.60', '3.6', true)).toBe(1);
  });

  const component = fc.oneof(fc.integer({ min: 0, max: 30 }).map(String), fc.constantFrom('0', '00', '01', '007'));
  const version = fc
    .record({
      numbers: fc.array(component, { minLength: 1, maxLength: 4 }),
      letter: fc.option(fc.constantFrom('a', 'b', 'z'), { nil: undefined }),
      suffixes: fc.array(
        fc.tuple(fc.constantFrom('alpha', 'beta', 'pre', 'rc', 'cvs', 'svn', 'git', 'hg', 'p'), fc.option(component)),
        { maxLength: 2 },
      ),
      hash: fc.option(fc.constantFrom('1234', 'abcd', 'ff'), { nil: undefined }),
      revision: fc.option(fc.integer({ min: 0, max: 12 }), { nil: undefined }),
    })
    .map(
      ({ numbers, letter, suffixes, hash, revision }) =>
        numbers.join('.') +
        (letter ?? '') +
        suffixes.map(([name, number]) => `_${name}${number ?? ''}`).join('') +
        (hash === undefined ? '' : `~${hash}`) +
        (revision === undefined ? '' : `-r${revision}`),
    );

  it('generated versions are valid', () => {
    fc.assert(fc.property(version, (v) => isValidVersion(v)));
  });

  it('is antisymmetric and reflexive', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        expect(compareVersions(a, a)).toBe(0);
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
      }),
    );
  });

  it('stays antisymmetric on arbitrary (often invalid) strings', () => {
    const text = fc.string({ unit: fc.constantFrom(...'0123456789._-rabp~'), maxLength: 10 });
    fc.assert(
      fc.property(text, text, (a, b) => {
        expect(compareVersions(a, b)).toBe(-compareVersions(b, a) || 0);
      }),
    );
  });

  it('is transitive (sorting is consistent)', () => {
    fc.assert(
      fc.property(fc.array(version, { minLength: 3, maxLength: 12 }), (list) => {
        const sorted = [...list].sort((a, b) => compareVersions(a, b));
        for (let i = 0; i < sorted.length; i += 1)
          for (let j = i + 1; j < sorted.length; j += 1)
            expect(compareVersions(sorted[i] as string, sorted[j] as string)).toBeLessThanOrEqual(0);
      }),
      { numRuns: 300 },
    );
  });

  it('equal versions match = and fuzzy =, and the operators agree with the order', () => {
    fc.assert(
      fc.property(version, version, (a, b) => {
        const order = compareVersions(a, b);
        expect(versionMatches(a, LESS | EQUAL, b)).toBe(order <= 0);
        expect(versionMatches(a, GREATER, b)).toBe(order > 0);
        expect(versionMatches(a, EQUAL | FUZZY, a)).toBe(true);
      }),
    );
  });
});

describe('operators', () => {
  it('maps operator text to masks and back', () => {
    expect(operatorMask('=')).toBe(EQUAL);
    expect(operatorMask('>=')).toBe(GREATER | EQUAL);
    expect(operatorMask('<')).toBe(LESS);
    expect(operatorMask('~')).toBe(EQUAL | FUZZY);
    expect(operatorMask('=~')).toBe(EQUAL | FUZZY);
    expect(operatorMask('<~')).toBe(LESS | EQUAL | FUZZY);
    expect(operatorMask('><')).toBeUndefined();
    expect(operatorMask('=>=')).toBeUndefined();
    expect(operatorMask('!')).toBeUndefined();
    for (const text of ['=', '<', '>', '<=', '>=', '~', '<~', '>~'])
      expect(operatorText(operatorMask(text) ?? 0)).toBe(text);
  });
});
