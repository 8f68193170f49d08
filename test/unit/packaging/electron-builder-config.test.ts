import AjvModule from 'ajv';
import { existsSync, readFileSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { parse } from 'yaml';
import { POLKIT_ACTION_ID } from '../../../main/app/elevation/linux.js';
import { packagedWorkerProgram } from '../../../main/app/worker-command.js';

/**
 * electron-builder.yml against app-builder-lib's own JSON schema, and against the rest of the
 * app: the polkit action's exec.path is where the deb installs the worker program, which is
 * where packagedWorkerCommand looks for it; the fuses are set; the worker folders are those
 * scripts/build-worker.mjs writes; `files` holds what the main process loads.
 */
interface FileSet {
  from: string;
  to: string;
}
interface PlatformConfig {
  target: string[];
  extraResources?: FileSet[];
}
interface Config {
  productName: string;
  directories: { output: string };
  files: string[];
  asarUnpack: string[];
  electronFuses: Record<string, boolean>;
  linux: PlatformConfig & { executableName: string };
  mac: PlatformConfig;
  win: PlatformConfig;
  deb: { fpm: string[] };
}

const root = path.resolve('.');
const config = parse(readFileSync(path.join(root, 'electron-builder.yml'), 'utf8')) as Config;
const requireFromBuilder = createRequire(require.resolve('app-builder-lib/package.json'));
const schema = requireFromBuilder('./scheme.json') as object;
const sanitizeFileName = requireFromBuilder('sanitize-filename') as (name: string) => string;
const policyFile = path.join(root, 'packaging/linux', `${POLKIT_ACTION_ID}.policy`);
const policy = readFileSync(policyFile, 'utf8');

interface Validator {
  (data: unknown): boolean;
  errors?: unknown[] | null;
}
/** ajv's CommonJS default export, as NodeNext types see it. */
const Ajv = AjvModule as unknown as new (options: object) => {
  compile: (schema: object) => Validator;
  errorsText: (errors: unknown, options: { separator: string }) => string;
};

function minimatch(file: string, pattern: string): boolean {
  const { minimatch: match } = requireFromBuilder('minimatch') as {
    minimatch: (file: string, pattern: string, options?: object) => boolean;
  };
  return match(file, pattern, { dot: true });
}

/** electron-builder's rule: the last pattern that matches decides; a `!` pattern excludes. */
function included(file: string): boolean {
  let result = false;
  for (const pattern of config.files) {
    if (pattern.startsWith('!')) {
      if (minimatch(file, pattern.slice(1))) result = false;
    } else if (minimatch(file, pattern)) {
      result = true;
    }
  }
  return result;
}

describe('electron-builder.yml', () => {
  it("is valid against app-builder-lib's schema", () => {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    const valid = validate(config);
    expect(ajv.errorsText(validate.errors, { separator: '\n' })).toBe('No errors');
    expect(valid).toBe(true);
  });

  it('the schema check can fail: an unknown fuse is refused', () => {
    const ajv = new Ajv({ allErrors: true, strict: false, allowUnionTypes: true });
    const validate = ajv.compile(schema);
    expect(validate({ ...config, electronFuses: { ...config.electronFuses, runAsNod: false } })).toBe(false);
  });

  it('sets the hardening fuses', () => {
    expect(config.electronFuses).toMatchObject({
      runAsNode: false,
      enableCookieEncryption: true,
      enableNodeOptionsEnvironmentVariable: false,
      enableNodeCliInspectArguments: false,
      enableEmbeddedAsarIntegrityValidation: true,
      onlyLoadAppFromAsar: true,
    });
  });

  it('builds AppImage + deb, dmg and nsis', () => {
    expect(config.linux.target).toEqual(['AppImage', 'deb']);
    expect(config.mac.target).toEqual(['dmg']);
    expect(config.win.target).toEqual(['nsis']);
  });

  it('ships the worker folder that build-worker writes, as resources/worker, on every platform', async () => {
    const { workerDirectory } = (await import(path.join(root, 'scripts/build-worker.mjs'))) as {
      workerDirectory: (platform: string, arch: string) => string;
    };
    for (const [key, platform] of [
      ['linux', 'linux'],
      ['mac', 'darwin'],
      ['win', 'win32'],
    ] as const) {
      const resources = config[key].extraResources ?? [];
      expect(resources, key).toHaveLength(1);
      expect(resources[0]!.to).toBe('worker');
      expect(path.resolve(root, resources[0]!.from.replace('${arch}', 'x64'))).toBe(workerDirectory(platform, 'x64'));
    }
    // The packages' own output is elsewhere, so that a build never packs itself.
    expect(config.directories.output.startsWith('release/worker')).toBe(false);
  });

  it('unpacks native modules from the asar', () => {
    expect(config.asarUnpack).toContain('**/*.node');
  });

  it('includes what the main process loads', () => {
    const manifest = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { main: string };
    for (const file of [
      manifest.main,
      'package.json',
      'dist/main/app/preload.cjs',
      'dist/main/services/index.js',
      'dist/shared/errors.js',
      'dist/renderer/index.html',
      'dist/renderer/app.js',
    ]) {
      expect(included(file), file).toBe(true);
    }
    for (const file of ['dist/main/app/main.js.map', 'test/unit/x.test.ts', 'release/worker/linux-x64/apkovl']) {
      expect(included(file), file).toBe(false);
    }
  });
});

describe('the polkit action in the deb', () => {
  const execPath = /<annotate key="org\.freedesktop\.policykit\.exec\.path">([^<]+)<\/annotate>/.exec(policy)?.[1];

  it('is installed into /usr/share/polkit-1/actions by the deb', () => {
    const mapping = config.deb.fpm.find((argument) => argument.includes('/usr/share/polkit-1/actions/'));
    expect(mapping).toBe(
      `packaging/linux/${POLKIT_ACTION_ID}.policy=/usr/share/polkit-1/actions/${POLKIT_ACTION_ID}.policy`,
    );
    expect(existsSync(path.join(root, mapping!.split('=')[0]!))).toBe(true);
  });

  it('names the worker where the deb installs it and where the app starts it', () => {
    // electron-builder's deb puts the app in /opt/<sanitized productName>; extraResources in resources/.
    const resources = `/opt/${sanitizeFileName(config.productName)}/resources`;
    const installed = path.posix.join(resources, config.linux.extraResources![0]!.to, 'apkovl');
    expect(execPath).toBe(installed);
    expect(execPath).toBe(packagedWorkerProgram(resources, 'linux'));
  });

  it('asks for an administrator every time and has no GUI annotation (stdio only)', () => {
    expect(policy).toContain(`<action id="${POLKIT_ACTION_ID}">`);
    for (const kind of ['allow_any', 'allow_inactive', 'allow_active']) {
      expect(policy).toContain(`<${kind}>auth_admin</${kind}>`);
    }
    expect(policy).not.toContain('org.freedesktop.policykit.exec.allow_gui');
    expect(policy).not.toMatch(/<allow_\w+>yes</);
  });
});
