import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** dist/main/app -> dist/renderer/index.html, and the bundled preload beside this file. */
export const rendererIndex = path.resolve(here, '../../renderer/index.html');
export const preloadScript = path.join(here, 'preload.cjs');
