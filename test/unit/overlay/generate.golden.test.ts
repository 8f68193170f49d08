import { existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { lintApkovl } from '../../../shared/rules/apkovl-lint.js';
import { loadDefinition } from '../../../main/services/machine/load-definition.js';
import { readApkovl } from '../../../main/services/overlay/apkovl-reader.js';
import { packApkovl } from '../../../main/services/overlay/apkovl-writer.js';
import { REPORT_PROGRAM } from '../../../main/services/overlay/first-boot-report.js';
import { generateOverlay } from '../../../main/services/overlay/generate.js';
import { renderEntries } from '../../helpers/overlay-listing.js';

/**
 * One definition per feature of the format (test/fixtures/definitions), its overlay rendered
 * as text and compared with test/fixtures/golden. After a deliberate change, regenerate with
 * UPDATE_GOLDEN=1 and read the diff: the golden files are the specification.
 */
const fixtures = path.resolve('test/fixtures/definitions');
const golden = path.resolve('test/fixtures/golden');
/** Fixed, so that a release does not change every golden file. */
const toolVersion = '0.0.0-golden';
const features = ['minimal', 'network', 'users', 'locale-services', 'files', 'run-once', 'kiosk', 'persistence-x86'];

describe.each(features)('overlay of %s.yml', (feature) => {
  it('matches its golden listing, packs reproducibly and passes every lint rule', async () => {
    const loaded = await loadDefinition(path.join(fixtures, `${feature}.yml`), {
      secretsFile: path.join(fixtures, 'secrets.yml'),
    });
    const overlay = generateOverlay(loaded.machine, {
      sources: loaded.sources,
      toolVersion,
      hostKeySeed: loaded.hostKeySeed,
      releaseBranch: 'v3.22',
    });
    const rendered = [
      `# ${feature}.yml -> ${overlay.fileName}`,
      `# world: ${overlay.world.join(' ')}`,
      `# from the network at first boot: ${overlay.networkPackages.join(' ') || '(none)'}`,
      `# card: ${JSON.stringify(overlay.card)}`,
      ...overlay.warnings.map((warning) => `# warning: ${warning}`),
      renderEntries(overlay.entries, new Set([REPORT_PROGRAM])),
    ].join('\n');
    const file = path.join(golden, `${feature}.txt`);
    if (process.env.UPDATE_GOLDEN === '1') writeFileSync(file, rendered);
    expect(existsSync(file), `${file} is missing: run with UPDATE_GOLDEN=1 and review it`).toBe(true);
    expect(rendered).toBe(readFileSync(file, 'utf8'));

    const first = await packApkovl(overlay.entries, 0);
    const again = await packApkovl(
      generateOverlay(loaded.machine, {
        sources: loaded.sources,
        toolVersion,
        hostKeySeed: loaded.hostKeySeed,
        releaseBranch: 'v3.22',
      }).entries,
      0,
    );
    expect(again.equals(first)).toBe(true);
    expect(lintApkovl(overlay.fileName, await readApkovl(first, overlay.fileName))).toEqual([]);
  });
});
