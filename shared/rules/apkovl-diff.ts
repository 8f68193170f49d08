import type { MemberDifference } from '../model/verify-report.js';
import type { ApkovlMember } from './apkovl-lint.js';
import { displayText } from './display.js';

/** A member's path without `./` and a folder's trailing `/`. */
function clean(name: string): string {
  return name.replace(/^(\.\/)+/, '').replace(/\/+$/, '');
}

const octal = (mode: number) => `0${(mode & 0o7777).toString(8).padStart(3, '0')}`;
const sameBytes = (left: Uint8Array, right: Uint8Array) =>
  left.length === right.length && left.every((byte, index) => byte === right[index]);

function contentDifference(card: ApkovlMember, wanted: ApkovlMember): string | null {
  if (card.type === 'symlink' || wanted.type === 'symlink') {
    return card.linkname === wanted.linkname
      ? null
      : `points to ${displayText(card.linkname ?? '')} on the card, to ${displayText(wanted.linkname ?? '')} from the definition`;
  }
  if (card.type !== 'file' && card.type !== 'contiguous-file') return null;
  if (card.size !== wanted.size) return `${card.size} bytes on the card, ${wanted.size} from the definition`;
  if (card.content !== null && wanted.content !== null) {
    return sameBytes(card.content, wanted.content) ? null : 'same size, other bytes';
  }
  // The reader keeps contents up to 1 MiB; larger members are compared by their digests.
  if (card.sha256 === undefined || wanted.sha256 === undefined) return 'its bytes could not be compared';
  return card.sha256 === wanted.sha256 ? null : 'same size, other bytes';
}

/**
 * How the apkovl on a card (`actual`) differs from the one a definition produces (`expected`),
 * member by member: content, mode, owner, type, missing and extra members. Timestamps are not
 * compared (they follow SOURCE_DATE_EPOCH). Details never show file contents, which can hold
 * secrets.
 */
export function compareApkovlMembers(
  expected: readonly ApkovlMember[],
  actual: readonly ApkovlMember[],
): MemberDifference[] {
  const differences: MemberDifference[] = [];
  const onCard = new Map(actual.map((member) => [clean(member.name), member] as const));
  const wanted = new Map(expected.map((member) => [clean(member.name), member] as const));
  for (const [path, member] of wanted) {
    const card = onCard.get(path);
    if (card === undefined) {
      differences.push({ path, how: 'missing', detail: 'made by the definition, not on the card' });
      continue;
    }
    if (card.type !== member.type) {
      differences.push({
        path,
        how: 'type',
        detail: `a ${card.type} on the card, a ${member.type} from the definition`,
      });
      continue;
    }
    const content = contentDifference(card, member);
    if (content !== null) differences.push({ path, how: 'content', detail: content });
    if ((card.mode & 0o7777) !== (member.mode & 0o7777) && card.type !== 'symlink') {
      differences.push({
        path,
        how: 'mode',
        detail: `${octal(card.mode)} on the card, ${octal(member.mode)} from the definition`,
      });
    }
    if (card.uid !== member.uid || card.gid !== member.gid) {
      differences.push({
        path,
        how: 'owner',
        detail: `${card.uid}:${card.gid} on the card, ${member.uid}:${member.gid} from the definition`,
      });
    }
  }
  for (const path of onCard.keys()) {
    if (!wanted.has(path)) differences.push({ path, how: 'extra', detail: 'on the card, not made by the definition' });
  }
  return differences.sort((left, right) => (left.path < right.path ? -1 : left.path > right.path ? 1 : 0));
}
