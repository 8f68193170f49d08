import { AppError } from '../../../shared/errors.js';
import type { Machine } from '../../../shared/model/machine.js';
import { machinePathProblem } from '../../../shared/rules/machine.js';
import type { Accounts } from './accounts.js';
import type { OverlayEntry } from './overlay-entry.js';
import type { ResolvedSources } from './source-files.js';

/** `files:` of the definition as overlay entries: inline content, source files and trees. */
export function userFileEntries(machine: Machine, accounts: Accounts, sources: ResolvedSources): OverlayEntry[] {
  const entries: OverlayEntry[] = [];
  const idOf = (
    value: string | number | undefined,
    kind: 'owner' | 'group',
    where: string,
    fallback: number,
  ): number => {
    if (value === undefined) return fallback;
    if (typeof value === 'number') return value;
    const id = kind === 'owner' ? accounts.uidOf(value) : accounts.gidOf(value);
    if (id === undefined) {
      throw new AppError('invalid-input', `${kind} "${value}" is not a user or group of this machine`, {
        location: where,
        hint: kind === 'owner' ? 'add the user under users:, or use root' : 'use a group of /etc/group',
      });
    }
    return id;
  };
  machine.files.forEach((item, index) => {
    const where = `files[${index}]`;
    if ('path' in item) {
      const problem = machinePathProblem(item.path);
      if (problem !== null) throw new AppError('invalid-input', problem, { location: `${where}.path` });
      const uid = idOf(item.owner, 'owner', `${where}.owner`, 0);
      const gid = idOf(
        item.group,
        'group',
        `${where}.group`,
        item.owner === undefined ? 0 : (accounts.users.find((u) => u.uid === uid)?.gid ?? 0),
      );
      const content = item.content !== undefined ? Buffer.from(item.content, 'utf8') : sources.files.get(index);
      if (content === undefined) throw new AppError('internal', `${where}.source was not read`);
      const mode = item.mode === undefined ? 0o644 : parseInt(item.mode, 8);
      entries.push({ type: 'file', path: item.path.replace(/^\/+/, ''), mode, uid, gid, content });
      return;
    }
    const uid = idOf(item.owner, 'owner', `${where}.owner`, 0);
    const gid = idOf(item.group, 'group', `${where}.group`, 0);
    for (const treeItem of sources.trees.get(index) ?? []) {
      const problem = machinePathProblem(`/${treeItem.path}`);
      if (problem !== null)
        throw new AppError('invalid-input', `${treeItem.path}: ${problem}`, { location: `${where}.tree` });
      if (treeItem.type === 'file') entries.push({ ...treeItem, uid, gid });
      else if (treeItem.type === 'directory') entries.push({ ...treeItem, uid, gid });
      else entries.push({ ...treeItem, uid: 0, gid: 0 });
    }
  });
  return entries;
}
