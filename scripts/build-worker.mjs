#!/usr/bin/env node
/* global process, console, performance */
// Builds the standalone worker program for the packaged app: `apkovl` as a Node Single
// Executable Application (SEA), with the native modules it loads in lib/node_modules beside
// it. The packaged Electron app runs with the RunAsNode fuse off, so it cannot run its own binary
// as Node: this program is what it starts (unprivileged for jobs, elevated for devices).
//
//   node scripts/build-worker.mjs [--out DIR]     (npm run build:worker)
//
// Output: release/worker/<platform>-<arch>/ with
//   apkovl (apkovl.exe)   this Node binary with the CLI bundle injected (CommonJS, one file)
//   lib/node_modules/     drivelist, @ronomon/direct-io, xxhash-addon and their runtime deps,
//                         built for this Node's ABI (the SEA is this Node)
//   package.json          name + version, which `apkovl --version` reads
//
// It builds for the machine it runs on only: native modules cannot be cross-built here. The
// macOS and Windows branches (signature removal, Mach-O segment) follow Node's SEA guide and are
// untested on this project's CI (Linux).
import { build } from 'esbuild';
import { execFileSync } from 'node:child_process';
import { chmodSync, copyFileSync, cpSync, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '..');
const require = createRequire(import.meta.url);

/** Loaded by the worker at run time from lib/node_modules beside the binary. */
export const nativeModules = ['drivelist', '@ronomon/direct-io', 'xxhash-addon'];
/** Dependencies that only build or download a native module: never needed at run time. */
const buildOnly = new Set(['node-addon-api', 'prebuild-install', 'node-gyp', 'nan']);
/** Folders inside a native package that only its build needs. */
const buildLeftovers = ['src', 'deps', 'build/Release/obj.target', 'build/Release/.deps', 'build/Release/nothing.a'];
const SENTINEL = 'NODE_SEA_FUSE_fce680ab2cc467b6e072b8b5df1996b2';

export function workerDirectory(platform = process.platform, arch = process.arch) {
  return path.join(root, 'release', 'worker', `${platform}-${arch}`);
}

function parseArgs(argv) {
  const index = argv.indexOf('--out');
  return { out: index >= 0 ? path.resolve(argv[index + 1]) : workerDirectory() };
}

/** A package and its runtime dependencies (recursively), as [name, folder] pairs. */
function runtimeClosure(names) {
  const found = new Map();
  const visit = (name, fromDirectory) => {
    if (buildOnly.has(name) || found.has(name)) return;
    const manifest = require.resolve(`${name}/package.json`, { paths: [fromDirectory] });
    const directory = path.dirname(manifest);
    found.set(name, directory);
    const dependencies = JSON.parse(readFileSync(manifest, 'utf8')).dependencies ?? {};
    for (const dependency of Object.keys(dependencies)) visit(dependency, directory);
  };
  for (const name of names) visit(name, root);
  return found;
}

/**
 * Where the bundle's modules resolve from: lib/ beside the binary. Native modules load from
 * lib/node_modules (electron-builder always drops a node_modules folder at the root of an
 * extraResources folder), and toolVersion() finds the package.json beside the binary, one up.
 */
const moduleBase = "require('node:path').join(require('node:path').dirname(__filename), 'lib', 'apkovl.cjs')";

async function bundle(file) {
  // SEA (Node 20) runs one CommonJS script whose own `require` knows only built-in modules. The
  // bundle is wrapped in a function that receives a real require rooted at moduleBase, and
  // `import.meta.url` becomes that file's URL. (`__filename` is the binary in a SEA.)
  await build({
    logLevel: 'warning',
    entryPoints: [path.join(root, 'main/cli/main.ts')],
    bundle: true,
    platform: 'node',
    format: 'cjs',
    target: 'node20',
    outfile: file,
    external: ['@aws-sdk/client-s3', ...nativeModules],
    define: { 'import.meta.url': 'apkovlModuleUrl' },
    // `import('drivelist')` becomes a call of that require (a real import() would resolve from
    // the binary's folder, not lib/).
    supported: { 'dynamic-import': false },
    banner: { js: '(function (require, apkovlModuleUrl) {' },
    footer: {
      js: `})(require('node:module').createRequire(${moduleBase}), require('node:url').pathToFileURL(${moduleBase}).href);`,
    },
  });
}

async function inject(binary, blob) {
  const { inject: postject } = require('postject');
  await postject(binary, 'NODE_SEA_BLOB', readFileSync(blob), {
    sentinelFuse: SENTINEL,
    ...(process.platform === 'darwin' ? { machoSegmentName: 'NODE_SEA' } : {}),
  });
}

export async function buildWorker({
  out = workerDirectory(),
  node = process.env.APKOVL_WORKER_NODE ?? process.execPath,
} = {}) {
  const started = performance.now();
  if (!readFileSync(node).includes(SENTINEL)) {
    throw new Error(`${node} has no SEA fuse (${SENTINEL}): use an official Node build (APKOVL_WORKER_NODE=...)`);
  }
  rmSync(out, { recursive: true, force: true });
  const work = path.join(out, '.build');
  mkdirSync(work, { recursive: true });

  const script = path.join(work, 'apkovl.cjs');
  await bundle(script);
  const blob = path.join(work, 'sea-prep.blob');
  const config = path.join(work, 'sea-config.json');
  writeFileSync(
    config,
    JSON.stringify({ main: script, output: blob, disableExperimentalSEAWarning: true, useCodeCache: false }),
  );
  execFileSync(node, ['--experimental-sea-config', config], { stdio: ['ignore', 'ignore', 'inherit'] });

  const binary = path.join(out, process.platform === 'win32' ? 'apkovl.exe' : 'apkovl');
  copyFileSync(node, binary);
  chmodSync(binary, 0o755);
  if (process.platform === 'darwin') execFileSync('codesign', ['--remove-signature', binary]);
  await inject(binary, blob);
  if (process.platform === 'darwin') execFileSync('codesign', ['--sign', '-', binary]);

  for (const [name, directory] of runtimeClosure(nativeModules)) {
    const target = path.join(out, 'lib', 'node_modules', name);
    cpSync(directory, target, { recursive: true, dereference: true });
    for (const leftover of buildLeftovers) rmSync(path.join(target, leftover), { recursive: true, force: true });
    rmSync(path.join(target, 'node_modules'), { recursive: true, force: true });
  }
  const { version } = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8'));
  writeFileSync(
    path.join(out, 'package.json'),
    `${JSON.stringify({ name: 'apkovl-studio', version, private: true, description: 'apkovl worker' }, null, 2)}\n`,
  );
  rmSync(work, { recursive: true, force: true });
  return { out, binary, seconds: (performance.now() - started) / 1000 };
}

if (process.argv[1] !== undefined && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const { out } = parseArgs(process.argv.slice(2));
  const result = await buildWorker({ out });
  if (!existsSync(result.binary)) throw new Error(`no worker at ${result.binary}`);
  console.log(`worker: ${path.relative(process.cwd(), result.binary)} (${result.seconds.toFixed(1)} s)`);
}
