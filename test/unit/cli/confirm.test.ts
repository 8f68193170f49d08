import { PassThrough } from 'node:stream';
import { describe, expect, it } from 'vitest';
import { confirmErasure } from '../../../main/cli/confirm.js';
import type { CommandContext } from '../../../main/cli/context.js';
import { stick } from '../../helpers/drive-fixtures.js';
import { classifyDrive } from '../../../shared/rules/drive-safety.js';

const drive = stick();

/** A terminal that answers `answer`, and what was written to stderr. */
function terminal(answer: string): { context: CommandContext; stderr: () => string } {
  const stdin = Object.assign(new PassThrough(), { isTTY: true });
  const stderr = new PassThrough();
  let written = '';
  stderr.on('data', (chunk: Buffer) => {
    written += chunk.toString('utf8');
    if (written.includes('Type ')) stdin.write(`${answer}\n`);
  });
  const context = { stdin, stderr, stdout: new PassThrough() } as unknown as CommandContext;
  return { context, stderr: () => written };
}

describe('the confirmation before a drive is erased', () => {
  it('says what will be erased and what the new card boots, then takes the drive name', async () => {
    const { context, stderr } = terminal('sdb');
    const result = await confirmErasure(
      context,
      { ...drive, ...classifyDrive(drive) },
      {},
      'PCs with BIOS (legacy) or UEFI (the ISO in partition 1, FAT32 beside it)',
    );
    expect(result).toEqual({ largeDriveConfirmed: false });
    expect(stderr()).toMatch(/This erases everything on .*sdb/);
    expect(stderr()).toMatch(/sdb1 "STICK"/);
    expect(stderr()).toContain(
      'The new card boots PCs with BIOS (legacy) or UEFI (the ISO in partition 1, FAT32 beside it).',
    );
  });

  it('writes nothing when another name is typed', async () => {
    const { context } = terminal('sda');
    await expect(confirmErasure(context, { ...drive, ...classifyDrive(drive) }, {})).rejects.toThrow(
      /not confirmed.*nothing was written/,
    );
  });
});

describe('what the new card boots, said before a build erases a drive', () => {
  it('follows the definition board and --firmware', async () => {
    const { bootsOf } = await import('../../../main/cli/commands/build.js');
    const { mkdtempSync, writeFileSync } = await import('node:fs');
    const { tmpdir } = await import('node:os');
    const path = await import('node:path');
    const dir = mkdtempSync(path.join(tmpdir(), 'apkovl-boots-'));
    const definition = (board: string) => {
      const file = path.join(dir, `${board}.yml`);
      writeFileSync(file, `version: 1\nhostname: a\ntarget: { board: ${board}, arch: x86_64 }\n`);
      return file;
    };
    expect(await bootsOf(definition('x86_64'), {})).toMatch(/^PCs with BIOS \(legacy\) or UEFI/);
    expect(await bootsOf(definition('x86_64-uefi'), {})).toMatch(/^PCs with UEFI only/);
    expect(await bootsOf(definition('x86_64-uefi'), { firmware: 'bios-uefi' })).toMatch(/^PCs with BIOS/);
    expect(await bootsOf(definition('rpi'), {})).toBe('a Raspberry Pi (one FAT32 partition)');
    expect(await bootsOf(undefined, { overlay: 'x.apkovl.tar.gz' })).toBeUndefined();
  });
});
