import { ToolFailure, runTool } from './run-tool.js';

/** One block device as lsblk reports it, with the devices on it (partitions, LVM, LUKS). */
export interface BlockNode {
  name: string;
  path: string;
  size: number;
  /** `disk`, `part`, `loop`, `lvm`, `crypt`, `raid1`, `rom`, ... */
  type: string;
  filesystem: string | null;
  label: string | null;
  /** Mount paths; lsblk writes `[SWAP]` for swap in use. */
  mountpoints: string[];
  removable: boolean;
  hotplug: boolean;
  readOnly: boolean;
  transport: string | null;
  model: string | null;
  serial: string | null;
  blockSize: number | null;
  children: BlockNode[];
}

const COLUMNS = 'NAME,PATH,SIZE,TYPE,FSTYPE,LABEL,MOUNTPOINTS,RM,RO,TRAN,MODEL,SERIAL,HOTPLUG,LOG-SEC';
/** util-linux before 2.37 has MOUNTPOINT (the first one) only, and before 2.33 no PATH. */
const OLD_COLUMNS = COLUMNS.replace('MOUNTPOINTS', 'MOUNTPOINT').replace('PATH,', '');

let columns = COLUMNS;

type Raw = Record<string, unknown>;

/** Old lsblk versions print flags and sizes as strings ("1", "8004829184"). */
const flag = (value: unknown) => value === true || value === 1 || value === '1';
const text = (value: unknown) => (typeof value === 'string' && value.trim() !== '' ? value.trim() : null);
const count = (value: unknown) => {
  const number = typeof value === 'number' ? value : typeof value === 'string' ? Number(value) : NaN;
  return Number.isSafeInteger(number) && number >= 0 ? number : null;
};

function node(raw: Raw): BlockNode {
  const mountpoints = Array.isArray(raw.mountpoints) ? (raw.mountpoints as unknown[]) : [raw.mountpoint];
  const name = text(raw.name) ?? '';
  return {
    name,
    path: text(raw.path) ?? `/dev/${name}`,
    size: count(raw.size) ?? 0,
    type: text(raw.type) ?? 'unknown',
    // Not trimmed: a label is what the file system says.
    filesystem: text(raw.fstype),
    label: typeof raw.label === 'string' && raw.label !== '' ? raw.label : null,
    mountpoints: mountpoints.filter((mountpoint): mountpoint is string => typeof mountpoint === 'string'),
    removable: flag(raw.rm),
    hotplug: flag(raw.hotplug),
    readOnly: flag(raw.ro),
    transport: text(raw.tran),
    model: text(raw.model),
    serial: text(raw.serial),
    blockSize: count(raw['log-sec']),
    children: Array.isArray(raw.children) ? (raw.children as Raw[]).map(node) : [],
  };
}

export function parseLsblk(output: string): BlockNode[] {
  const parsed = JSON.parse(output) as { blockdevices?: Raw[] };
  return (parsed.blockdevices ?? []).map(node);
}

/** Every block device lsblk knows (or just `devices`), as trees. */
export async function readBlockNodes(devices: string[] = []): Promise<BlockNode[]> {
  const run = () => runTool('lsblk', ['--json', '--bytes', '--output', columns, ...devices]);
  try {
    return parseLsblk(await run());
  } catch (error) {
    if (!(error instanceof ToolFailure) || columns === OLD_COLUMNS || !/unknown column/i.test(error.stderr))
      throw error;
    columns = OLD_COLUMNS;
    return parseLsblk(await run());
  }
}
