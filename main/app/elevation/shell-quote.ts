/** One argument as a POSIX shell reads it back: quoted only where needed. */
export function shellQuote(argument: string): string {
  return /^[A-Za-z0-9_@%+=:,./-]+$/.test(argument) ? argument : `'${argument.replace(/'/g, "'\\''")}'`;
}

/**
 * A command line for a POSIX shell, with variables set for it alone: `A=1 prog 'an arg'`, or
 * `A=1 exec prog 'an arg'` to replace the shell.
 */
export function shellCommand(
  command: string,
  args: readonly string[],
  env: Record<string, string> = {},
  options: { exec?: boolean } = {},
): string {
  const assignments = Object.entries(env).map(([name, value]) => {
    if (!/^[A-Za-z_][A-Za-z0-9_]*$/.test(name)) throw new Error(`not a variable name: ${name}`);
    return `${name}=${shellQuote(value)}`;
  });
  return [...assignments, ...(options.exec === true ? ['exec'] : []), ...[command, ...args].map(shellQuote)].join(' ');
}
