import type { BuildRequestInput } from '../shared/model/requests.js';
import type { ClassifiedDrive } from '../shared/model/drive.js';
import type { DeviceIdentity } from '../shared/model/device-identity.js';
import type { CommandOutput } from '../shared/ipc/contract.js';
import type { DefinitionDraft } from './machine-form.js';

/** The screens, in the order "Create a card" walks them; Verify stands apart. */
export type Screen = 'home' | 'machine' | 'alpine' | 'target' | 'confirm' | 'write' | 'result' | 'verify';

export type FetchedRelease = CommandOutput<'release.fetch'>;

/** The boot media: a release from a mirror (downloaded now or in the Write step), or a local file. */
export type MediaChoice =
  | {
      kind: 'release';
      board: 'rpi' | 'x86_64' | 'x86_64-uefi';
      arch: 'aarch64' | 'armv7' | 'armhf' | 'x86_64';
      version: string;
      flavor?: string;
      mirror: string;
      /** In the cache already (or once the Write step downloaded it). */
      fetched: FetchedRelease | null;
    }
  | { kind: 'file'; path: string };

/** Where the card goes: a drive, or an image file whose path came from the save dialog. */
export type TargetChoice = { kind: 'device'; drive: ClassifiedDrive } | { kind: 'image'; path: string };

export interface Confirmation {
  identity: DeviceIdentity;
  largeDriveConfirmed: boolean;
}

/** The build request the Write step sends: never a partition size the user did not set (the definition's counts). */
export function buildRequest(options: {
  definition: Pick<DefinitionDraft, 'path' | 'secretsPath'>;
  mediaPath: string;
  target: TargetChoice;
  confirmation: Confirmation | null;
  /**
   * alpine.offline: the download cache that packages.resolve filled (unprivileged); the build
   * takes the indexes and packages from there and downloads nothing.
   */
  packagesCache?: string;
}): BuildRequestInput {
  const { definition, mediaPath, target, confirmation, packagesCache } = options;
  if (definition.path === null) throw new Error('the definition is not saved yet');
  if (target.kind === 'device' && confirmation === null) throw new Error('the drive is not confirmed');
  return {
    source: {
      kind: 'definition',
      file: definition.path,
      ...(definition.secretsPath !== null ? { secretsFile: definition.secretsPath } : {}),
    },
    media: { kind: 'file', path: mediaPath },
    destination:
      target.kind === 'image'
        ? { kind: 'image', path: target.path }
        : {
            kind: 'device',
            path: target.drive.device,
            confirmed: (confirmation as Confirmation).identity,
            largeDriveConfirmed: (confirmation as Confirmation).largeDriveConfirmed,
          },
    card: {},
    verify: true,
    ...(packagesCache !== undefined ? { packages: { offline: true, cacheDir: packagesCache } } : {}),
  };
}

let jobCounter = 0;
export function newJobId(kind: string): string {
  jobCounter += 1;
  return `${kind}-${Date.now()}-${jobCounter}`;
}

/** Drives that may be chosen: never a refused or hidden one. */
export function selectable(drive: ClassifiedDrive): boolean {
  return drive.status === 'ok' || drive.status === 'warning';
}
