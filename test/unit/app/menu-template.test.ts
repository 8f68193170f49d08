import { describe, expect, it } from 'vitest';
import { menuTemplate } from '../../../main/app/menu-template.js';

const roles = (platform: NodeJS.Platform) =>
  menuTemplate(platform, 'Apkovl Studio').flatMap((menu) =>
    Array.isArray(menu.submenu) ? menu.submenu.map((item) => item.role ?? item.type) : [],
  );

describe('app menu', () => {
  it.each(['linux', 'win32', 'darwin'] as const)(
    'on %s has copy and paste and Quit, and no reload or devtools',
    (platform) => {
      const all = roles(platform);
      expect(all).toEqual(expect.arrayContaining(['copy', 'paste', 'cut', 'selectAll', 'quit']));
      expect(all).not.toContain('reload');
      expect(all).not.toContain('toggleDevTools');
    },
  );
});
