import path from 'node:path';
import { AppError } from '../../../shared/errors.js';
import type { ElevatedWorkerCommand, WorkerCommand } from './types.js';

/*
 * Windows: UNTESTED HERE (the project's CI is Linux); the command is constructed and unit-tested
 * only as text.
 *
 * UAC elevation (ShellExecute "runas") cannot hand over stdio handles, and a network listener is
 * out of the question. The app spawns Windows PowerShell (unprivileged) running BRIDGE below. It
 * creates three named pipes with random names whose ACL allows only this user's SID and denies
 * NETWORK logons (S-1-5-2), so only local processes of this user (elevated or not) can open
 * them; no TCP, no port. It then starts `cmd /d /s /c ""<worker>" worker <\\.\pipe\in
 * >\\.\pipe\out 2>\\.\pipe\err"` with `Start-Process -Verb RunAs` (the UAC prompt), copies its
 * own stdin/stdout/stderr to and from the pipes, and exits with the worker's exit code, or 1223
 * (ERROR_CANCELLED) when the prompt was declined.
 */
const BRIDGE = String.raw`
$ErrorActionPreference = 'Stop'
$id = [guid]::NewGuid().ToString('N')
$user = [System.Security.Principal.WindowsIdentity]::GetCurrent().User
$network = New-Object System.Security.Principal.SecurityIdentifier('S-1-5-2')
$security = New-Object System.IO.Pipes.PipeSecurity
$security.AddAccessRule((New-Object System.IO.Pipes.PipeAccessRule($user, 'ReadWrite, CreateNewInstance', 'Allow')))
$security.AddAccessRule((New-Object System.IO.Pipes.PipeAccessRule($network, 'FullControl', 'Deny')))
function New-Pipe([string]$name, [System.IO.Pipes.PipeDirection]$direction) {
  New-Object System.IO.Pipes.NamedPipeServerStream($name, $direction, 1, 'Byte', 'Asynchronous', 65536, 65536, $security)
}
$names = @{ in = "apkovl-$id-in"; out = "apkovl-$id-out"; err = "apkovl-$id-err" }
$in = New-Pipe $names.in 'Out'
$out = New-Pipe $names.out 'In'
$err = New-Pipe $names.err 'In'
$waits = @($in.WaitForConnectionAsync(), $out.WaitForConnectionAsync(), $err.WaitForConnectionAsync())
$line = '"' + $prefix + '"' + $worker + '" ' + $arguments + ' <\\.\pipe\' + $names.in + ' >\\.\pipe\' + $names.out + ' 2>\\.\pipe\' + $names.err + '"'
try {
  $process = Start-Process -FilePath $env:ComSpec -ArgumentList ('/d /s /c ' + $line) -Verb RunAs -WindowStyle Hidden -PassThru
} catch {
  [Console]::Error.WriteLine('UAC: ' + $_.Exception.Message)
  exit 1223
}
while (-not [System.Threading.Tasks.Task]::WaitAll($waits, 500)) {
  if ($process.HasExited) { [Console]::Error.WriteLine('the worker ended before it opened its pipes'); exit $process.ExitCode }
}
$stdin = [Console]::OpenStandardInput()
$stdout = [Console]::OpenStandardOutput()
$stderr = [Console]::OpenStandardError()
$copies = @($out.CopyToAsync($stdout), $err.CopyToAsync($stderr))
$feed = $stdin.CopyToAsync($in)
while (-not $process.HasExited) {
  # The app closed our stdin: close the worker's, so that it ends (and cancels what runs).
  if ($null -ne $feed -and $feed.IsCompleted) { $in.Dispose(); $feed = $null }
  Start-Sleep -Milliseconds 100
}
[System.Threading.Tasks.Task]::WaitAll($copies, 2000) | Out-Null
exit $process.ExitCode
`;

/** A PowerShell single-quoted literal. */
function powershellLiteral(text: string): string {
  return `'${text.replace(/'/g, "''")}'`;
}

/** A cmd.exe argument: quoted when it has spaces or specials; cmd metacharacters refused. */
function cmdArgument(text: string): string {
  if (/["%^&|<>!\r\n]/.test(text)) throw new AppError('internal', `cannot pass ${text} through cmd.exe`);
  return /\s/.test(text) ? `"${text}"` : text;
}

export interface WindowsElevationOptions {
  /** powershell.exe; by default %SystemRoot%\System32\WindowsPowerShell\v1.0\powershell.exe. */
  powershell?: string;
  env: Record<string, string | undefined>;
}

export function windowsElevatedCommand(base: WorkerCommand, options: WindowsElevationOptions): ElevatedWorkerCommand {
  if (!path.win32.isAbsolute(base.command)) {
    throw new AppError('internal', `the worker must be started by its absolute path, not ${base.command}`);
  }
  const prefix = Object.entries(base.env)
    .map(([name, value]) => {
      if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new AppError('internal', `not a variable name: ${name}`);
      cmdArgument(value);
      return `set "${name}=${value}" && `;
    })
    .join('');
  cmdArgument(base.command);
  const script = [
    `$worker = ${powershellLiteral(base.command)}`,
    `$arguments = ${powershellLiteral(base.args.map(cmdArgument).join(' '))}`,
    `$prefix = ${powershellLiteral(prefix)}`,
    BRIDGE,
  ].join('\n');
  const systemRoot = options.env.SystemRoot ?? options.env.SYSTEMROOT ?? 'C:\\Windows';
  return {
    command:
      options.powershell ?? path.win32.join(systemRoot, 'System32', 'WindowsPowerShell', 'v1.0', 'powershell.exe'),
    args: ['-NoProfile', '-NonInteractive', '-ExecutionPolicy', 'Bypass', '-EncodedCommand', encodePowerShell(script)],
    env: {},
    elevated: true,
    method: 'uac',
    cleanup: () => Promise.resolve(),
  };
}

/** -EncodedCommand takes the script as base64 of UTF-16LE. */
export function encodePowerShell(script: string): string {
  return Buffer.from(script, 'utf16le').toString('base64');
}
