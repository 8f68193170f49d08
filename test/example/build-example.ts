/**
 * npm run example: the main job end to end, offline.
 *
 * Makes demo boot media with the exact layout of alpine-rpi-<version>-aarch64.tar.gz (but
 * random payloads: it does not boot) and a small apkovl, then runs the real CLI:
 *   apkovl build --boot-media <media> --overlay <apkovl> --output example/kiosk.img --size 256MiB
 * With real media from an Alpine mirror the command is the same (see the README).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { createOverlay, createSyntheticRpiMedia } from '../helpers/synthetic-media.js';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../..');
const folder = path.join(root, 'example');
rmSync(folder, { recursive: true, force: true });
mkdirSync(folder, { recursive: true });

console.log('Making demo boot media (Alpine Raspberry Pi layout, random payloads, about 30 MB)...');
const media = createSyntheticRpiMedia({ dir: path.join(folder, 'media'), scale: 0.25, defaultApkovl: true });
const overlay = createOverlay(folder, 'kiosk-hall', { 'etc/motd': 'Welcome to kiosk-hall\n' });
const output = path.join(folder, 'kiosk.img');
const args = ['build', '--boot-media', media.tarball, '--overlay', overlay, '--output', output, '--size', '256MiB'];
console.log(`\n$ apkovl ${args.map((arg) => (arg.startsWith(root) ? path.relative(root, arg) : arg)).join(' ')}\n`);
const result = spawnSync(process.execPath, [path.join(root, 'dist/main/cli/main.js'), ...args], { stdio: 'inherit' });
if (result.status === 0) {
  console.log(`\nThe card image is ${path.relative(root, output)}. Check it with tools of your own, for example:`);
  console.log(`  sfdisk --dump ${path.relative(root, output)}`);
  console.log(`  mdir -/ -i ${path.relative(root, output)}@@1M ::`);
}
process.exitCode = result.status ?? 1;
