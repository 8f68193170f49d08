// Bundles what tsc alone cannot ship: the CLI as one file (fast start), the sandboxed preload
// (CommonJS), and the renderer for the browser. Run by `npm run build` after `tsc -b`.
import { build } from 'esbuild';
import { copyFileSync, mkdirSync } from 'node:fs';

const quiet = { logLevel: 'warning' };

await Promise.all([
  // Split: what a command does not use (OpenPGP, HTTP, the schema library) is a separate chunk,
  // loaded only when needed, so that the CLI starts fast.
  build({
    ...quiet,
    entryPoints: { apkovl: 'dist/main/cli/main.js' },
    bundle: true,
    splitting: true,
    platform: 'node',
    format: 'esm',
    target: 'node20',
    outdir: 'dist/cli',
    outExtension: { '.js': '.mjs' },
    chunkNames: 'chunks/[name]-[hash]',
    // unzipper loads the AWS SDK only for zip files on S3, which this tool never opens. Native
    // modules load their binary relative to their own folder: they stay in node_modules.
    external: ['@aws-sdk/client-s3', '@ronomon/direct-io', 'xxhash-addon', 'drivelist'],
    banner: {
      js: "import { createRequire as apkovlCreateRequire } from 'node:module'; const require = apkovlCreateRequire(import.meta.url);",
    },
  }),
  build({
    ...quiet,
    entryPoints: ['main/app/preload.ts'],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    external: ['electron'],
    outfile: 'dist/main/app/preload.cjs',
  }),
  build({
    ...quiet,
    entryPoints: ['renderer/main.tsx'],
    bundle: true,
    platform: 'browser',
    format: 'esm',
    target: 'chrome120',
    jsx: 'automatic',
    minify: true,
    sourcemap: true,
    define: { 'process.env.NODE_ENV': '"production"' },
    outfile: 'dist/renderer/app.js',
  }),
]);
mkdirSync('dist/renderer', { recursive: true });
copyFileSync('renderer/index.html', 'dist/renderer/index.html');
