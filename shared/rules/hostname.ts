/**
 * Host names as Alpine uses them: `/etc/hostname` and the apkovl's file name
 * (`<hostname>.apkovl.tar.gz`, which `lbu commit` expects).
 */

const LABEL = /^[A-Za-z0-9](?:[A-Za-z0-9-]{0,61}[A-Za-z0-9])?$/;

/** Why `name` is not an RFC 1123 host label (or, with `allowDomain`, a dotted name), or null. */
export function hostnameProblem(name: string, options: { allowDomain?: boolean } = {}): string | null {
  if (name.length === 0) return 'the host name is empty';
  if (name.length > 253) return 'a host name has at most 253 characters';
  const labels = name.split('.');
  if (labels.length > 1 && options.allowDomain !== true) {
    return 'use a single label without dots (the domain goes into DNS settings)';
  }
  for (const label of labels) {
    if (!LABEL.test(label)) {
      return `"${label}" is not a valid host label: 1 to 63 letters, digits or hyphens, not starting or ending with a hyphen`;
    }
  }
  if (/^\d+$/.test(labels[labels.length - 1] ?? '')) return 'a host name cannot end in an all-numeric label';
  return null;
}

/** The apkovl file name the initramfs finds and lbu commit rewrites. */
export function apkovlFileName(hostname: string): string {
  return `${hostname}.apkovl.tar.gz`;
}

export const APKOVL_FILE_NAME = /^[A-Za-z0-9._-]+\.apkovl\.tar\.gz$/;
