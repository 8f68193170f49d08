import { execFile } from 'node:child_process';
import { AppError } from '../../../shared/errors.js';

/** A system tool that ran and failed: its exit code and what it said. */
export class ToolFailure extends Error {
  constructor(
    readonly command: string,
    readonly exitCode: number | null,
    readonly stderr: string,
  ) {
    super(`${command} failed${exitCode === null ? '' : ` (exit ${exitCode})`}: ${stderr.trim() || 'no message'}`);
    this.name = 'ToolFailure';
  }
}

/**
 * Run a system tool (lsblk, blkid, umount) without a shell and return what it printed. A tool
 * that is not installed is the user's to fix; one that fails is a `ToolFailure` for the caller
 * to explain.
 */
export function runTool(command: string, args: string[]): Promise<string> {
  return new Promise((resolve, reject) => {
    execFile(command, args, { encoding: 'utf8', maxBuffer: 16 << 20 }, (error, stdout, stderr) => {
      if (error === null) return resolve(stdout);
      if ((error as NodeJS.ErrnoException).code === 'ENOENT')
        return reject(
          new AppError('not-found', `${command} is not installed`, {
            hint: `install it (on Debian and Alpine it is in the util-linux package)`,
          }),
        );
      reject(new ToolFailure(command, typeof error.code === 'number' ? error.code : null, stderr));
    });
  });
}
