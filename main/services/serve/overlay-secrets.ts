import type { OverlayEntry } from '../overlay/overlay-entry.js';

/**
 * The secrets an apkovl carries, found in what the generator writes: password hashes in
 * `etc/shadow` (a crypt hash, not `*` or `!`), the Wi-Fi PSKs in `wpa_supplicant.conf` and SSH
 * host keys (`etc/ssh/ssh_host_*_key`), plus any private key a definition ships in its own
 * files. Anyone who can fetch the apkovl has them; `apkovl serve` warns when it serves them
 * beyond this machine.
 */
export function overlaySecrets(entries: readonly OverlayEntry[]): string[] {
  const found: string[] = [];
  for (const entry of entries) {
    if (entry.type !== 'file') continue;
    const text = entry.content.toString('utf8');
    if (entry.path === 'etc/shadow') {
      const users = text
        .split('\n')
        .map((line) => line.split(':'))
        .filter((fields) => (fields[1] ?? '').startsWith('$'))
        .map((fields) => fields[0]);
      if (users.length > 0) found.push(`password hashes of ${users.join(', ')} (/etc/shadow)`);
    } else if (entry.path === 'etc/wpa_supplicant/wpa_supplicant.conf') {
      const psks = text.split('\n').filter((line) => /^\s*psk=/.test(line)).length;
      if (psks > 0) found.push(`${psks === 1 ? 'a Wi-Fi PSK' : `${psks} Wi-Fi PSKs`} (/${entry.path})`);
    } else if (/^etc\/ssh\/ssh_host_[a-z0-9]+_key$/.test(entry.path)) {
      found.push(`an SSH host key (/${entry.path})`);
    } else if (/-----BEGIN [A-Z0-9 ]*PRIVATE KEY-----/.test(text)) {
      found.push(`a private key (/${entry.path})`);
    }
  }
  return found;
}
