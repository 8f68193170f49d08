import { describe, expect, it } from 'vitest';
import { displayMessage, displayText } from '../../../shared/rules/display.js';

describe('display sanitising', () => {
  it('escapes terminal escapes, line breaks and bidi overrides in untrusted text', () => {
    expect(displayText('boot/\x1b]0;pwned\x07x')).toBe('boot/\\x1b]0;pwned\\x07x');
    expect(displayText('a\nBuilt card.img\r')).toBe('a\\nBuilt card.img\\r');
    expect(displayText('evil\u202egpj.exe')).toBe('evil\\u202egpj.exe');
    expect(displayText('\x9b2J')).toBe('\\x9b2J');
    expect(displayText('plain name-1.2_ü.txt')).toBe('plain name-1.2_ü.txt');
  });

  it('keeps the layout of a whole message and escapes everything else', () => {
    expect(displayMessage('line one\n  hint:\tdo this\x1b[2J')).toBe('line one\n  hint:\tdo this\\x1b[2J');
    expect(displayMessage('a\rb')).toBe('a\\rb');
  });

  it('is stable: the same input gives the same output every time', () => {
    for (let round = 0; round < 3; round += 1) expect(displayText('\x1b\x1b')).toBe('\\x1b\\x1b');
  });
});
