import { readFileSync } from 'node:fs';
import { describe, expect, it } from 'vitest';
import { templates } from '../../main/services/machine/templates.js';

const readme = readFileSync('README.md', 'utf8');

describe('README', () => {
  it.each(templates.map((template) => template.name))(
    'shows the %s template exactly as apkovl init writes it',
    (name) => {
      const section = readme.split(`### ${name}:`)[1] ?? '';
      const yaml = /```yaml\n([\s\S]*?)```/.exec(section)?.[1];
      expect(yaml).toBe(templates.find((template) => template.name === name)?.definition);
    },
  );

  it('names the set-up and test commands that CI runs', () => {
    expect(readme).toContain('npm ci && npm run example');
    expect(readme).toMatch(/```sh\nnpm test\n```/);
    expect(readFileSync('.ci/run', 'utf8')).toMatch(/npm ci[^\n]*\nnpm test/);
  });
});
