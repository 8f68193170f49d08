import { createHash } from 'node:crypto';
import { readFileSync, statSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import { buildImage } from '../../main/services/image/build-image.js';
import { tryMachine, type TryEvent } from '../../main/services/try/try-machine.js';
import { createOverlay } from '../helpers/synthetic-media.js';
import { makeTempDir } from '../helpers/temp.js';
import { signedBootRepository } from '../helpers/bios-iso.js';
import { createFindfsIso, describeX86Boot } from '../helpers/x86-boot.js';
import { findfsReport, parseFindfsLines } from '../helpers/standin-kernel.js';

/**
 * `apkovl try IMAGE --disk virtio`: the BIOS+UEFI stick of issue 10's boot test (Alpine-like ISO
 * with the stand-in kernel, whose initramfs scans block devices as nlplug-findfs does) booted
 * by the try service itself, under OVMF and under SeaBIOS. The stand-in finds our apkovl; the
 * image is byte-for-byte and mtime unchanged afterwards (snapshot mode). The cloud kernel has
 * no USB storage, hence virtio.
 */
const sha256 = (file: string) => createHash('sha256').update(readFileSync(file)).digest('hex');

describeX86Boot('apkovl try boots an x86 stick built by apkovl', ['bios', 'uefi'], () => {
  let temp: ReturnType<typeof makeTempDir>;
  let stick: string;

  beforeAll(async () => {
    temp = makeTempDir();
    const repository = signedBootRepository(temp.dir);
    const iso = createFindfsIso({ dir: temp.dir, extraFiles: repository.files });
    stick = path.join(temp.dir, 'stick.img');
    await buildImage({
      bootMedia: iso.iso,
      overlay: createOverlay(temp.dir, 'try-me', { 'etc/.default_boot_services': '' }),
      output: stick,
      partitionBytes: 40 << 20,
      firmware: 'bios-uefi',
      apkKeys: [repository.keyFile],
    });
  }, 120_000);
  afterAll(() => temp.cleanup());

  for (const firmware of ['uefi', 'bios'] as const) {
    it(`${firmware}: the machine finds its apkovl, and the image is unchanged`, async () => {
      const hashBefore = sha256(stick);
      const mtimeBefore = statSync(stick).mtimeMs;
      let output = '';
      const events: TryEvent[] = [];
      const timeout = AbortSignal.timeout(150_000);
      const result = await tryMachine(
        {
          target: stick,
          disk: 'virtio',
          kvm: false, // as the other boot tests: this machine's /dev/kvm fails (nested)
          memoryMiB: 512,
          ...(firmware === 'bios' ? { bios: true } : {}),
          console: 'pipe',
          onOutput: (chunk) => (output += chunk.toString('latin1')),
          onEvent: (event) => events.push(event),
          signal: timeout,
        },
        {
          env: process.env,
          cacheDir: temp.dir,
          fetchRelease: () => Promise.reject(new Error('an image needs no download')),
        },
      );
      const tail = output.split('\n').slice(-30).join('\n');
      expect(result.mode).toBe('image');
      expect(result.layout).toBe('bios-uefi');
      expect(result.exitCode, tail).toBe(0);
      const args = result.command.args.join(' ');
      expect(args).toContain(`file=${stick},format=raw,if=virtio,snapshot=on`);
      if (firmware === 'uefi') expect(args).toMatch(/-bios \S*OVMF|if=pflash/);
      else expect(args).not.toMatch(/OVMF|pflash/);
      const starting = events.find((event) => event.kind === 'starting');
      expect(starting?.kind === 'starting' && starting.description).toMatch(/snapshot mode/);
      const report = findfsReport(parseFindfsLines(output));
      expect(report.done, tail).toBe(true);
      expect(report.apkovls, tail).toEqual(['/media/vda2/try-me.apkovl.tar.gz']);
      expect(report.hostnames.get('/media/vda2/try-me.apkovl.tar.gz'), tail).toBe('try-me');
      expect(sha256(stick)).toBe(hashBefore);
      expect(statSync(stick).mtimeMs).toBe(mtimeBefore);
    }, 200_000);
  }

  it('bios: by default the image is a USB stick, and the firmware boots the bootloader from it', async () => {
    // The stand-in kernel has no USB storage, so this stops once isolinux, read over USB from
    // the ISO partition, has started the kernel and its initramfs (it says FINDFS: start).
    let output = '';
    const stop = new AbortController();
    const result = tryMachine(
      {
        target: stick,
        bios: true,
        kvm: false,
        memoryMiB: 512,
        console: 'pipe',
        onOutput: (chunk) => {
          output += chunk.toString('latin1');
          if (/FINDFS: cmdline [^\n]*\n/.test(output)) stop.abort();
        },
        signal: AbortSignal.any([stop.signal, AbortSignal.timeout(120_000)]),
      },
      {
        env: process.env,
        cacheDir: temp.dir,
        fetchRelease: () => Promise.reject(new Error('an image needs no download')),
      },
    );
    await result.catch(() => undefined); // cancelled once the kernel runs
    const tail = output.split('\n').slice(-20).join('\n');
    expect(output, tail).toMatch(/ISOLINUX/);
    expect(output, tail).toMatch(/FINDFS: start/);
    expect(output, tail).toMatch(/FINDFS: cmdline BOOT_IMAGE=\/boot\/vmlinuz-lts /);
    expect(stop.signal.aborted).toBe(true);
  }, 150_000);
});
