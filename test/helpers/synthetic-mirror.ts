import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import * as openpgp from 'openpgp';
import { stringify } from 'yaml';

/** Test signing keys: one playing Alpine's release key, one a stranger's. */
export async function makeSigningKeys(): Promise<{
  alpine: { privateKey: openpgp.PrivateKey; armoredPublic: string };
  stranger: { privateKey: openpgp.PrivateKey; armoredPublic: string };
}> {
  const make = async (name: string) => {
    const key = await openpgp.generateKey({
      type: 'ecc',
      curve: 'ed25519Legacy',
      userIDs: [{ name, email: `${name.toLowerCase()}@example.org` }],
      format: 'object',
    });
    return { privateKey: key.privateKey, armoredPublic: key.publicKey.armor() };
  };
  return { alpine: await make('Release'), stranger: await make('Stranger') };
}

export async function detachedSignature(data: Buffer, privateKey: openpgp.PrivateKey): Promise<string> {
  const message = await openpgp.createMessage({ binary: data });
  const signature: string = await openpgp.sign({ message, signingKeys: privateKey, detached: true, format: 'armored' });
  return signature;
}

export interface MirrorRelease {
  file: string;
  /** Local path of the file's content. */
  source: string;
  flavor: string;
  arch: string;
  version: string;
}

/**
 * The files of a mirror for some releases: <branch>/releases/<arch>/latest-releases.yaml, each
 * file, its .sha256 and its .asc, keyed by URL path under /alpine.
 */
export async function mirrorFiles(
  releases: MirrorRelease[],
  privateKey: openpgp.PrivateKey,
): Promise<Map<string, Buffer>> {
  const files = new Map<string, Buffer>();
  const byDirectory = new Map<string, Record<string, unknown>[]>();
  for (const release of releases) {
    const data = readFileSync(release.source);
    const sha256 = createHash('sha256').update(data).digest('hex');
    const branch = `v${release.version.split('.').slice(0, 2).join('.')}`;
    for (const alias of [branch, 'latest-stable']) {
      const directory = `/alpine/${alias}/releases/${release.arch}`;
      files.set(`${directory}/${release.file}`, data);
      files.set(`${directory}/${release.file}.sha256`, Buffer.from(`${sha256}  ${release.file}\n`));
      files.set(`${directory}/${release.file}.asc`, Buffer.from(await detachedSignature(data, privateKey)));
      const list = byDirectory.get(directory) ?? [];
      list.push({
        title: `Test ${release.flavor}`,
        desc: 'Synthetic release made by the test suite.\nNot bootable.\n',
        branch,
        arch: release.arch,
        version: release.version,
        flavor: release.flavor,
        file: release.file,
        iso: release.file,
        date: '2025-10-09',
        time: '12:00:00',
        size: data.length,
        sha256,
        sha512: createHash('sha512').update(data).digest('hex'),
      });
      byDirectory.set(directory, list);
    }
  }
  for (const [directory, list] of byDirectory)
    files.set(`${directory}/latest-releases.yaml`, Buffer.from(`---\n${stringify(list)}`));
  return files;
}
