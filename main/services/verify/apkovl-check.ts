import { createHash } from 'node:crypto';
import type { CardManifest } from '../../../shared/model/card-manifest.js';
import type { CardFacts, VerifyChange, VerifyCheck, VerifyProblem } from '../../../shared/model/verify-report.js';
import { lintApkovl, type ApkovlMember } from '../../../shared/rules/apkovl-lint.js';
import { displayText } from '../../../shared/rules/display.js';
import { readApkovl } from '../overlay/apkovl-reader.js';
import type { CardFile, CardReader } from './card-reader.js';
import { isRootApkovl } from './card-paths.js';
import { change, makeCheck, problem, showList, showTime } from './checks.js';
import { REWRITE_HINT } from './manifest-check.js';

export interface ApkovlResult {
  check: VerifyCheck;
  facts: CardFacts['apkovl'];
  /** The members of the apkovl the initramfs would use, when it could be read. */
  members: ApkovlMember[] | null;
  /** It is not the apkovl the card was written with, and was changed on purpose (lbu commit). */
  rewritten: boolean;
}

const TITLE = 'The apkovl';
const MAX_APKOVL_BYTES = 64 << 20;
/** `openssl enc` cipher names, which `lbu commit -e` appends. */
const CIPHER = /^(aes|aria|camellia|des|bf|blowfish|cast|chacha|idea|rc2|rc4|rc5|seed|sm4)[-0-9a-z]*$/i;

type Content =
  | { kind: 'read'; members: ApkovlMember[]; sha256: string }
  | { kind: 'encrypted'; cipher: string; sha256: string | null }
  | { kind: 'unusable'; severity: 'damage' | 'fault'; message: string; sha256: string | null };

async function readContent(card: CardReader, file: CardFile): Promise<Content> {
  const suffix = /\.apkovl\.tar\.gz\.?(.*)$/.exec(file.path)?.[1] ?? '';
  let data: Buffer | null;
  try {
    data = await card.readSmall(file, MAX_APKOVL_BYTES);
  } catch (error) {
    return {
      kind: 'unusable',
      severity: 'damage',
      message: `it cannot be read: ${(error as Error).message}`,
      sha256: null,
    };
  }
  if (data === null) {
    const message = `it is ${file.size} bytes: the initramfs unpacks it into RAM, and this is more than an apkovl can sensibly be`;
    return { kind: 'unusable', severity: 'fault', message, sha256: null };
  }
  const sha256 = createHash('sha256').update(data).digest('hex');
  if (suffix !== '') {
    if (CIPHER.test(suffix)) return { kind: 'encrypted', cipher: suffix, sha256 };
    const message = `the initramfs takes ".${displayText(suffix)}" for the name of a cipher and would fail to decrypt it`;
    return { kind: 'unusable', severity: 'fault', message, sha256 };
  }
  try {
    return { kind: 'read', members: await readApkovl(data, file.path), sha256 };
  } catch (error) {
    const reason = (error as Error).message;
    const consequence = /emergency shell/.test(reason) ? '' : '; the initramfs would stop in an emergency shell';
    return { kind: 'unusable', severity: 'damage', message: `${reason}${consequence}`, sha256 };
  }
}

function hostnameOf(members: ApkovlMember[]): string | null {
  const member = members.find((each) => each.name.replace(/^(\.\/)+/, '') === 'etc/hostname' && each.content);
  if (!member?.content) return null;
  return Buffer.from(member.content).toString('utf8').split('\n')[0]?.trim() ?? null;
}

/**
 * Exactly one apkovl at the root (the initramfs takes the first it finds), readable (gzip and
 * tar intact: a broken one stops the boot in an emergency shell), passing the lint rules, and
 * either the one the card was written with or one saved since on purpose (`lbu commit`).
 */
export async function checkApkovl(card: CardReader, manifest: CardManifest | null): Promise<ApkovlResult> {
  const candidates = card.rootFiles().filter((file) => isRootApkovl(file.path));
  const written = manifest?.apkovl ?? null;
  const problems: VerifyProblem[] = [];
  const changes: VerifyChange[] = [];
  const done = (summary: string, facts: CardFacts['apkovl'], members: ApkovlMember[] | null, rewritten = false) => ({
    check: makeCheck('apkovl', TITLE, { summary, problems, changes }),
    facts,
    members,
    rewritten,
  });
  const chosen = candidates[0];
  if (chosen === undefined) {
    problems.push(
      problem(
        'fault',
        `there is no apkovl at the root${written ? ` (the card was written with ${displayText(written.path)})` : ''}: the machine would boot without its settings`,
        { hint: 'write the card again (apkovl build), or copy the apkovl back to the root of the card' },
      ),
    );
    return done('none', null, null);
  }
  if (candidates.length > 1) {
    const names = candidates.map((file) => displayText(file.path));
    problems.push(
      problem(
        'fault',
        `there are ${candidates.length} apkovls at the root (${showList(names)}): the initramfs takes the first it finds and ignores the others, here ${names[0] ?? ''}, the first in the folder, and lbu commit refuses to save while there are several`,
        {
          paths: candidates.map((file) => file.path),
          ranges: candidates.flatMap((file) => card.ranges(file)),
          hint: candidates.some((file) => file.path.startsWith('._'))
            ? 'delete every apkovl but the one the machine should use (macOS writes ._ files beside the ones it copies: delete those)'
            : 'delete every apkovl but the one the machine should use',
        },
      ),
    );
  }
  const content = await readContent(card, chosen);
  const sha256 = content.sha256 ?? '';
  const members = content.kind === 'read' ? content.members : null;
  const facts: CardFacts['apkovl'] = {
    name: chosen.path,
    hostname: members === null ? null : hostnameOf(members),
    bytes: chosen.size,
    members: members?.length ?? null,
    sha256,
    modified: new Date(chosen.mtime * 1000).toISOString(),
  };
  const asWritten =
    written !== null && written.path.toLowerCase() === chosen.path.toLowerCase() && written.sha256 === sha256;
  if (content.kind === 'unusable') {
    problems.push(
      problem(content.severity, `${displayText(chosen.path)}: ${content.message}`, {
        paths: [chosen.path],
        ranges: card.ranges(chosen),
        hint: content.severity === 'damage' ? REWRITE_HINT : 'rename it to <hostname>.apkovl.tar.gz, or remove it',
      }),
    );
    return done(`${displayText(chosen.path)} cannot be used`, facts, null);
  }
  if (content.kind === 'encrypted') {
    problems.push(
      problem(
        'warning',
        `${displayText(chosen.path)} is encrypted (${displayText(content.cipher)}): its content cannot be checked`,
        {
          paths: [chosen.path],
        },
      ),
    );
  }
  let rewritten = false;
  // With several, the fault above says it all: which one is "the" apkovl is what is wrong.
  if (written !== null && !asWritten && candidates.length === 1) {
    rewritten = true;
    const replaced = written.path.toLowerCase() !== chosen.path.toLowerCase();
    changes.push(
      change(
        replaced
          ? `the apkovl is now ${displayText(chosen.path)} (saved on ${showTime(chosen.mtime)}); the card was written with ${displayText(written.path)}`
          : `${displayText(chosen.path)} was saved again on ${showTime(chosen.mtime)} (lbu commit), after the card was written`,
        [chosen.path],
      ),
    );
    if (chosen.mtime <= written.mtime) {
      problems.push(
        problem(
          'warning',
          `${displayText(chosen.path)} is intact but not the one the card was written with, and its time (${showTime(chosen.mtime)}) is not later: the machine's clock was wrong when it saved it, or it was copied with an old time`,
          { paths: [chosen.path], hint: 'if nobody saved it on purpose, write the card again' },
        ),
      );
    }
  }
  for (const found of members === null ? [] : lintApkovl(chosen.path, members)) {
    problems.push(
      problem(
        found.severity === 'error' ? 'fault' : 'warning',
        `[${found.rule}] ${found.member === null ? '' : `${displayText(found.member)}: `}${found.message}`,
        { paths: [chosen.path], hint: found.fix },
      ),
    );
  }
  const state = asWritten ? 'as written' : rewritten ? 'changed since the card was written' : 'intact';
  const size = members === null ? `${chosen.size} bytes` : `${members.length} members, ${chosen.size} bytes`;
  return done(`${displayText(chosen.path)} (${size}): ${state}`, facts, members, rewritten);
}
