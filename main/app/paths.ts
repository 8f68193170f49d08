import path from 'node:path';
import { fileURLToPath } from 'node:url';

const here = path.dirname(fileURLToPath(import.meta.url));

/** dist/main/app -> dist/renderer (served as app://studio/), and the bundled preload beside this file. */
export const rendererRoot = path.resolve(here, '../../renderer');
export const preloadScript = path.join(here, 'preload.cjs');
