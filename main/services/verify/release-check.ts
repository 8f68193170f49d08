import type { CardManifest } from '../../../shared/model/card-manifest.js';
import type { CardFacts, VerifyCheck } from '../../../shared/model/verify-report.js';
import { displayText } from '../../../shared/rules/display.js';
import { releaseBranch, releaseVersion } from '../build/plan.js';
import type { CardReader } from './card-reader.js';
import { makeCheck, problem } from './checks.js';

export type ReleaseFacts = Pick<CardFacts, 'alpineRelease' | 'alpineVersion' | 'branch' | 'arch' | 'board'>;

const TITLE = 'Alpine release';
const NONE: ReleaseFacts = { alpineRelease: null, alpineVersion: null, branch: null, arch: null, board: null };

/** Which Alpine release the card holds: `.alpine-release`, the `apks/<arch>/` folder, the board. */
export async function checkRelease(
  card: CardReader,
  manifest: CardManifest | null,
  /** The ISO partition of a BIOS+UEFI stick: its apks/ folder is the boot repository. */
  iso: CardReader | null = null,
): Promise<{ check: VerifyCheck; facts: ReleaseFacts }> {
  const file = card.find('.alpine-release');
  if (file === null || file.isDirectory) {
    return {
      check: makeCheck('release', TITLE, {
        summary: 'no .alpine-release',
        problems: [
          problem(
            'fault',
            'the card has no .alpine-release: it does not hold Alpine boot media, or the file was deleted',
            {
              hint: 'write the card again from Alpine boot media (apkovl build)',
            },
          ),
        ],
      }),
      facts: NONE,
    };
  }
  let text: string;
  try {
    text = ((await card.readSmall(file, 4096)) ?? Buffer.alloc(0)).toString('utf8').split('\n')[0]?.trim() ?? '';
  } catch (error) {
    return {
      check: makeCheck('release', TITLE, {
        summary: '.alpine-release cannot be read',
        problems: [problem('damage', (error as Error).message, { paths: [file.path], ranges: card.ranges(file) })],
      }),
      facts: NONE,
    };
  }
  const arch =
    [...card.files, ...(iso?.files ?? [])]
      .filter((each) => each.isDirectory && /^apks\/[^/]+$/i.test(each.path))
      .map((each) => each.path.slice(5))[0] ?? null;
  const board = text.startsWith('alpine-rpi')
    ? 'rpi'
    : card.find('EFI/BOOT/BOOTX64.EFI') !== null
      ? iso !== null
        ? 'x86_64'
        : 'x86_64-uefi'
      : null;
  const facts: ReleaseFacts = {
    alpineRelease: text,
    alpineVersion: releaseVersion(text),
    branch: releaseBranch(text) ?? null,
    arch,
    board,
  };
  const problems = [];
  if (facts.alpineVersion === null) {
    problems.push(
      problem('warning', `.alpine-release holds "${displayText(text)}", which names no release version`, {
        paths: [file.path],
      }),
    );
  }
  const details = [];
  if (manifest !== null && manifest.alpineRelease !== null && manifest.alpineRelease !== text) {
    details.push(`the manifest was written for ${displayText(manifest.alpineRelease)}`);
  }
  const what = [
    arch,
    board === 'rpi'
      ? 'Raspberry Pi'
      : board === 'x86_64-uefi'
        ? 'x86_64 UEFI'
        : board === 'x86_64'
          ? 'x86_64 BIOS and UEFI'
          : null,
  ]
    .filter((part) => part !== null)
    .join(', ');
  return {
    check: makeCheck('release', TITLE, {
      summary: `${displayText(text)}${what ? ` (${displayText(what)})` : ''}`,
      details,
      problems,
    }),
    facts,
  };
}
