/**
 * npm run example: the main job end to end, offline.
 *
 * Writes the kiosk template with `apkovl init`, makes demo boot media with the exact layout of
 * alpine-rpi-<version>-aarch64.tar.gz (random payloads: it does not boot), then runs the CLI:
 *   apkovl build kiosk.yml --secrets kiosk.secrets.yml --boot-media <media> --output kiosk.img
 *   apkovl verify kiosk.img --boot-media <media>
 * With real media from an Alpine mirror the command is the same (see the README).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createSyntheticRpiMedia } from '../helpers/synthetic-media.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const folder = path.join(root, 'example');
const cli = path.join(root, 'dist/cli/apkovl.mjs');
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });
const show = (args: string[]) =>
  args.map((arg) => (arg.startsWith(folder) ? path.relative(folder, arg) : arg)).join(' ');
const run = (args: string[]): void => {
  console.log(`\n$ apkovl ${show(args)}`);
  const result = spawnSync(process.execPath, [cli, ...args], { stdio: 'inherit', cwd: folder });
  if (result.status !== 0) process.exit(result.status ?? 1);
};

const definition = path.join(folder, 'kiosk.yml');
run(['init', '--template', 'rpi-kiosk', '-o', definition]);
// The template has alpine.offline: true, which fetches Chromium and the rest from the mirror at
// build time. This example runs without network: its card installs them at first boot instead.
console.log('\nSetting alpine.offline: false in kiosk.yml (this example has no network for the packages)');
writeFileSync(definition, readFileSync(definition, 'utf8').replace('offline: true', 'offline: false'));
console.log('\nMaking demo boot media (Alpine Raspberry Pi layout, random payloads, about 30 MB)...');
const media = createSyntheticRpiMedia({ dir: path.join(folder, 'media'), scale: 0.25, defaultApkovl: true });
run(['validate', definition, '--secrets', path.join(folder, 'kiosk.secrets.yml')]);
const output = path.join(folder, 'kiosk.img');
run([
  'build',
  definition,
  '--secrets',
  path.join(folder, 'kiosk.secrets.yml'),
  '--boot-media',
  media.tarball,
  '--output',
  output,
  '--size',
  '256MiB',
]);
run(['verify', output, '--boot-media', media.tarball]);
console.log(`\nThe card image is example/kiosk.img. Check it with tools of your own too, for example:`);
console.log('  sfdisk --dump example/kiosk.img');
console.log('  mdir -/ -i example/kiosk.img@@1M ::');
