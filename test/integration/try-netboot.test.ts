import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { afterAll, beforeAll, expect, it } from 'vitest';
import type { ServeEvent } from '../../main/services/serve/apkovl-server.js';
import { tryMachine, type TryEvent } from '../../main/services/try/try-machine.js';
import { makeTempDir } from '../helpers/temp.js';
import { describeX86Boot } from '../helpers/x86-boot.js';
import { makeStandinInitramfs, STANDIN_PREAMBLE, testKernel } from '../helpers/standin-kernel.js';

/**
 * `apkovl try kiosk.yml --kernel K --initrd I --modloop M`: a definition netbooted with a
 * stand-in kernel and an initramfs that does what Alpine's initramfs-init does with an
 * apkovl= URL (alpine-boot.md §1.3, §1.7): bring eth0 up, put eth0's MAC (lower-case, colons) in
 * place of {MAC}, fetch the apkovl with wget from the built-in server, unpack it with busybox tar,
 * and say the host name on the serial console; it fetches modloop= too.
 */
const MAC = '52:54:00:00:00:2a';
const definition = `version: 1
hostname: netbooted
target: { board: x86_64-uefi, arch: x86_64 }
alpine: { version: 3.22.2 }
network:
  interfaces:
    - { name: eth0, ipv4: dhcp, mac: "52-54-00-00-00-2A" }
`;

const netbootScript = `${STANDIN_PREAMBLE}say() { echo "NETBOOT: $*"; }
while read -r module; do insmod "/lib/modules/$module.ko" || say insmod-failed "$module"; done </etc/modules
tries=0
while [ ! -e /sys/class/net/eth0 ] && [ $tries -lt 300 ]; do sleep 0.1; tries=$((tries + 1)); done
mac=$(cat /sys/class/net/eth0/address)
say mac "$mac"
ip link set lo up
ip link set eth0 up
ip addr add 10.0.2.15/24 dev eth0
ip route add default via 10.0.2.2
for word in $(cat /proc/cmdline); do
  case "$word" in apkovl=*) ovl="\${word#apkovl=}" ;; modloop=*) modloop="\${word#modloop=}" ;; esac
done
url=$(echo "$ovl" | sed "s/{MAC}/$mac/")
say url "$url"
mkdir -p /sysroot
if wget -q -O /tmp/ovl.tar.gz "$url" && tar -C /sysroot -zxf /tmp/ovl.tar.gz; then
  say hostname "$(cat /sysroot/etc/hostname)"
else
  say apkovl-failed
fi
wget -q -O /tmp/modloop "$modloop" && say modloop "$(cat /tmp/modloop)"
say done
sync
poweroff -f
`;

describeX86Boot('apkovl try netboots a definition', ['bios'], () => {
  let temp: ReturnType<typeof makeTempDir>;
  let files: { kernel: string; initrd: string; modloop: string; definition: string };

  beforeAll(() => {
    temp = makeTempDir();
    const kernel = testKernel();
    if (kernel === null) throw new Error('no test kernel');
    files = {
      kernel: kernel.vmlinuz,
      initrd: path.join(temp.dir, 'initramfs-netboot'),
      modloop: path.join(temp.dir, 'modloop-virt'),
      definition: path.join(temp.dir, 'netbooted.yml'),
    };
    writeFileSync(
      files.initrd,
      makeStandinInitramfs({
        script: netbootScript,
        modules: ['virtio_pci', 'virtio_net'],
        modulesDir: kernel.modulesDir,
      }),
    );
    writeFileSync(files.modloop, 'stand-in modloop\n');
    writeFileSync(files.definition, definition);
  });
  afterAll(() => temp.cleanup());

  it('fetches its apkovl by MAC from the built-in server, unpacks it and reports the host name', async () => {
    let output = '';
    const events: TryEvent[] = [];
    const result = await tryMachine(
      {
        target: files.definition,
        custom: { kernel: files.kernel, initrd: files.initrd, modloop: files.modloop },
        memoryMiB: 512,
        kvm: false, // as the other boot tests: this machine's /dev/kvm fails (nested)
        console: 'pipe',
        onOutput: (chunk) => (output += chunk.toString('latin1')),
        onEvent: (event) => events.push(event),
        signal: AbortSignal.timeout(150_000),
      },
      {
        env: process.env,
        cacheDir: temp.dir,
        fetchRelease: () => Promise.reject(new Error('a custom kernel needs no download')),
      },
    );
    const tail = output.split('\n').slice(-30).join('\n');
    expect(result.exitCode, tail).toBe(0);
    expect(result.mac).toBe(MAC);
    expect(result.command.args.join(' ')).toContain(`user,model=virtio-net-pci,mac=${MAC}`);
    const append = result.command.args[result.command.args.indexOf('-append') + 1] ?? '';
    expect(append).toMatch(/^modules=loop,squashfs ip=dhcp apkovl=http:\/\/10\.0\.2\.2:\d+\/\{MAC\}\.apkovl\.tar\.gz /);
    expect(append).toMatch(/ modloop=http:\/\/10\.0\.2\.2:\d+\/modloop-virt /);
    expect(append).toContain(' alpine_repo=https://dl-cdn.alpinelinux.org/alpine/v3.22/main');
    expect(append).toMatch(/ console=ttyS0$/);
    const lines = output.replace(/\r/g, '').split('\n');
    expect(lines, tail).toContain(`NETBOOT: mac ${MAC}`);
    expect(lines, tail).toContain('NETBOOT: hostname netbooted');
    expect(lines, tail).toContain('NETBOOT: modloop stand-in modloop');
    const requests = events.flatMap<Extract<ServeEvent, { kind: 'request' }>>((event) =>
      event.kind === 'serve' && event.event.kind === 'request' ? [event.event] : [],
    );
    expect(requests.map((request) => [request.client, request.path, request.status, request.machine])).toEqual([
      ['127.0.0.1', `/${MAC}.apkovl.tar.gz`, 200, 'netbooted'],
      ['127.0.0.1', '/modloop-virt', 200, null],
    ]);
  }, 200_000);

  it("takes Alpine's netboot files from the mirror (SHA-256 and signature checked, unpacked once) when no kernel is given", async () => {
    const { execFileSync } = await import('node:child_process');
    const { copyFileSync, mkdirSync } = await import('node:fs');
    const { fetchRelease } = await import('../../main/services/releases/fetch-release.js');
    const { makeSigningKeys, mirrorFiles } = await import('../helpers/synthetic-mirror.js');
    const { startMirror } = await import('../helpers/mirror-server.js');
    // alpine-netboot-3.22.2-x86_64.tar.gz as Alpine lays it out: boot/{vmlinuz,initramfs,modloop}-virt.
    const tree = path.join(temp.dir, 'netboot-tree');
    mkdirSync(path.join(tree, 'boot'), { recursive: true });
    copyFileSync(files.kernel, path.join(tree, 'boot/vmlinuz-virt'));
    copyFileSync(files.initrd, path.join(tree, 'boot/initramfs-virt'));
    writeFileSync(path.join(tree, 'boot/modloop-virt'), 'modloop from the netboot tarball\n');
    const tarball = path.join(temp.dir, 'alpine-netboot-3.22.2-x86_64.tar.gz');
    execFileSync('tar', ['-C', tree, '-czf', tarball, 'boot']);
    const keys = await makeSigningKeys();
    const keyFile = path.join(temp.dir, 'alpine.asc');
    writeFileSync(keyFile, keys.alpine.armoredPublic);
    const server = await startMirror(
      await mirrorFiles(
        [
          {
            file: path.basename(tarball),
            source: tarball,
            flavor: 'alpine-netboot',
            arch: 'x86_64',
            version: '3.22.2',
          },
        ],
        keys.alpine.privateKey,
      ),
    );
    try {
      const definitionFile = path.join(temp.dir, 'from-mirror.yml');
      writeFileSync(
        definitionFile,
        definition.replace(
          'alpine: { version: 3.22.2 }',
          `alpine: { version: 3.22.2, mirror: "${server.url}/alpine" }`,
        ),
      );
      const cacheDir = path.join(temp.dir, 'netboot-cache');
      let output = '';
      const result = await tryMachine(
        {
          target: definitionFile,
          fetch: { trustedKeyFile: keyFile },
          memoryMiB: 512,
          kvm: false,
          console: 'pipe',
          onOutput: (chunk) => (output += chunk.toString('latin1')),
          signal: AbortSignal.timeout(150_000),
        },
        {
          env: process.env,
          cacheDir,
          fetchRelease: (wanted) => fetchRelease({ ...wanted, cacheDir, env: process.env }),
        },
      );
      const lines = output.replace(/\r/g, '').split('\n');
      const tail = lines.slice(-30).join('\n');
      expect(result.exitCode, tail).toBe(0);
      expect(lines, tail).toContain('NETBOOT: hostname netbooted');
      expect(lines, tail).toContain('NETBOOT: modloop modloop from the netboot tarball');
      expect(server.requests.map((request) => request.path)).toContain(
        `/alpine/v3.22/releases/x86_64/${path.basename(tarball)}`,
      );
    } finally {
      await server.close();
    }
  }, 200_000);
});
