import { describe, expect, it } from 'vitest';
import {
  appendToCmdline,
  composeBootMedia,
  emptyComposeReport,
  type ComposeReport,
} from '../../../main/services/boot-media/compose.js';
import { bufferBody, type MediaEntry } from '../../../main/services/image/media-entry.js';

function file(path: string, content: string, mtime = 1000): MediaEntry {
  const data = Buffer.from(content);
  return { kind: 'file', path, size: data.length, mtime, body: bufferBody(data) };
}

async function* from(entries: MediaEntry[]): AsyncGenerator<MediaEntry> {
  for (const entry of entries) yield entry;
}

async function run(entries: MediaEntry[], options: Parameters<typeof composeBootMedia>[1]) {
  const report: ComposeReport = emptyComposeReport();
  const out: { path: string; content: string | null; mtime: number }[] = [];
  for await (const entry of composeBootMedia(from(entries), options, report)) {
    let content: string | null = null;
    if (entry.kind === 'file') {
      const parts: Buffer[] = [];
      for await (const part of entry.body) parts.push(Buffer.from(part));
      content = Buffer.concat(parts).toString();
      expect(content.length).toBe(entry.size);
    }
    out.push({ path: entry.path, content, mtime: entry.mtime });
  }
  return { out, report };
}

const alpine = (): MediaEntry[] => [
  file('.alpine-release', 'alpine-rpi-3.22.2 251009\n', 2000),
  { kind: 'directory', path: 'boot', mtime: 1000 },
  file('boot/vmlinuz-rpi', 'kernel'),
  file('cmdline.txt', 'modules=loop,squashfs,sd-mod,usb-storage quiet console=tty1\n'),
  file('alpine.apkovl.tar.gz', 'old'),
  file('usercfg.txt', 'old settings\n'),
  file('boot/keep.apkovl.tar.gz', 'not at the root: kept'),
];

describe('composing boot media', () => {
  it('drops root overlays, replaces usercfg.txt, extends cmdline.txt and adds the apkovl last', async () => {
    const { out, report } = await run(alpine(), {
      sourceName: 'media.tar.gz',
      overlay: { name: 'kiosk.apkovl.tar.gz', data: Buffer.from('new overlay') },
      usercfg: Buffer.from('dtoverlay=vc4-kms-v3d\n'),
      cmdlineAppend: ['usbdelay=5'],
    });
    expect(out.map((entry) => entry.path)).toEqual([
      '.alpine-release',
      'boot',
      'boot/vmlinuz-rpi',
      'cmdline.txt',
      'boot/keep.apkovl.tar.gz',
      'usercfg.txt',
      'kiosk.apkovl.tar.gz',
    ]);
    expect(out.find((entry) => entry.path === 'cmdline.txt')?.content).toBe(
      'modules=loop,squashfs,sd-mod,usb-storage quiet console=tty1 usbdelay=5\n',
    );
    expect(out.find((entry) => entry.path === 'usercfg.txt')?.content).toBe('dtoverlay=vc4-kms-v3d\n');
    // Added files take the newest timestamp of the media, so the result is reproducible.
    expect(out.find((entry) => entry.path === 'kiosk.apkovl.tar.gz')?.mtime).toBe(2000);
    expect(report).toMatchObject({
      dropped: ['alpine.apkovl.tar.gz'],
      injected: ['usercfg.txt', 'kiosk.apkovl.tar.gz'],
      alpineRelease: 'alpine-rpi-3.22.2 251009',
    });
    expect(report.identity?.volumeId).toEqual(expect.any(Number));
  });

  it('drops links as it drops files: default overlays, and usercfg.txt when it is replaced; each name once', async () => {
    const link = (path: string, target: string): MediaEntry => ({
      kind: 'link',
      path,
      target,
      hard: false,
      mtime: 1000,
    });
    const { out, report } = await run(
      [
        ...alpine(),
        link('alpine.apkovl.tar.gz', 'boot/vmlinuz-rpi'),
        link('other.apkovl.tar.gz', 'boot/vmlinuz-rpi'),
        link('usercfg.txt', 'cmdline.txt'),
        link('boot/kernel.img', 'boot/vmlinuz-rpi'),
      ],
      { sourceName: 'media.tar.gz', usercfg: Buffer.from('dtoverlay=vc4-kms-v3d\n') },
    );
    expect(out.filter((entry) => entry.content === null && entry.path !== 'boot').map((entry) => entry.path)).toEqual([
      'boot/kernel.img',
    ]);
    expect(out.filter((entry) => entry.path === 'usercfg.txt').map((entry) => entry.content)).toEqual([
      'dtoverlay=vc4-kms-v3d\n',
    ]);
    expect(report.dropped).toEqual(['alpine.apkovl.tar.gz', 'other.apkovl.tar.gz']);
  });

  it('derives the serials from content and seed only', async () => {
    const first = await run(alpine(), { sourceName: 'm' });
    const again = await run(alpine(), { sourceName: 'm' });
    const seeded = await run(alpine(), { sourceName: 'm', seed: 'card-2' });
    expect(again.report.identity).toEqual(first.report.identity);
    expect(seeded.report.identity).not.toEqual(first.report.identity);
  });

  it('honours SOURCE_DATE_EPOCH for added files', async () => {
    const { out } = await run(alpine(), {
      sourceName: 'm',
      overlay: { name: 'a.apkovl.tar.gz', data: Buffer.from('x') },
      sourceDateEpoch: 42,
    });
    expect(out.at(-1)?.mtime).toBe(42);
  });

  it('refuses media without .alpine-release or boot/', async () => {
    await expect(run([file('boot/x', 'y')], { sourceName: 'other.tar.gz' })).rejects.toThrow(
      /not Alpine boot media: it has no \.alpine-release/,
    );
    await expect(run([file('.alpine-release', 'x')], { sourceName: 'other.tar.gz' })).rejects.toThrow(
      /it has no boot\/ folder/,
    );
  });
});

describe('cmdline.txt', () => {
  it('appends to the single line and keeps one trailing newline', () => {
    expect(appendToCmdline('a b\n', ['c=1', 'd'])).toBe('a b c=1 d\n');
    expect(appendToCmdline('a b', ['c'])).toBe('a b c\n');
  });

  it('refuses a second line and parameters with line breaks', () => {
    expect(() => appendToCmdline('a\nb\n', ['c'])).toThrow(/more than one line/);
    expect(() => appendToCmdline('a\n', ['c\nd'])).toThrow(/not a kernel parameter/);
  });
});
