import { displayText } from '../rules/display.js';
import type { FirstBootReport, ReportInterface, ReportRunOnce, ReportService } from './first-boot-report.js';
import { formatBytes } from './size.js';

/**
 * A first-boot report in a few lines for a person, as `apkovl verify` and the app show it:
 * "booted on a Raspberry Pi 4 Model B Rev 1.4 on 2026-11-28 10:02 UTC as kiosk-hall",
 * "eth0 192.168.1.23", "2 packages missing: chromium, cage", ... Everything read from the card
 * is untrusted and shown through displayText.
 */
export function describeFirstBootReport(report: FirstBootReport): string[] {
  return [
    bootLine(report),
    systemLine(report),
    networkLine(report.interfaces),
    packagesLine(report),
    servicesLine(report.services),
    runOnceLine(report.run_once),
    clockLine(report),
    memoryLine(report),
  ].filter((line): line is string => line !== null);
}

/** `2026-11-28T10:02:11Z` as `2026-11-28 10:02 UTC`. */
function minutes(time: string): string {
  return `${time.slice(0, 10)} ${time.slice(11, 16)} UTC`;
}

function withArticle(noun: string): string {
  return `${/^[aeiou]/i.test(noun) ? 'an' : 'a'} ${noun}`;
}

/** The build date of the boot media, from `.alpine-release` (`alpine-rpi-3.22.2 251017`). */
function mediaBuildDate(release: string | null | undefined): string | null {
  const match = /\s(\d\d)(\d\d)(\d\d)\s*$/.exec(release ?? '');
  return match ? `20${match[1]}-${match[2]}-${match[3]}` : null;
}

function bootLine(report: FirstBootReport): string {
  const board = report.board_model ? withArticle(displayText(report.board_model.trim())) : 'an unknown board';
  let line = `booted on ${board}`;
  if (report.booted_at) line += ` on ${minutes(report.booted_at)}`;
  if (report.hostname) line += ` as ${displayText(report.hostname)}`;
  const built = mediaBuildDate(report.boot_media?.alpine_release);
  if (report.booted_at && built !== null && report.booted_at.slice(0, 10) < built)
    line += ` (the clock was wrong: that is before the boot media were built, on ${built})`;
  else if (report.booted_at && report.clock?.synchronized === false)
    line += ' (the clock was not synchronised: the date may be wrong)';
  return line;
}

function systemLine(report: FirstBootReport): string | null {
  const parts: string[] = [];
  if (report.alpine_release) parts.push(`Alpine ${displayText(report.alpine_release.trim())}`);
  const kernel = [report.kernel?.release, report.kernel?.architecture].flatMap((part) =>
    part ? [displayText(part)] : [],
  );
  if (kernel.length > 0) parts.push(`kernel ${kernel.join(' ')}`);
  if (report.uptime_seconds !== null && report.uptime_seconds !== undefined)
    parts.push(`up ${duration(report.uptime_seconds)} when reported`);
  return parts.length > 0 ? parts.join(', ') : null;
}

function duration(seconds: number): string {
  if (seconds < 120) return `${seconds} s`;
  if (seconds < 7200) return `${Math.round(seconds / 60)} min`;
  return `${Math.round(seconds / 3600)} h`;
}

/** Addresses people reach the machine at: without prefix length, link-local IPv6 left out. */
function reachable(device: ReportInterface): string[] {
  return [...device.ipv4, ...device.ipv6.filter((address) => !/^fe[89ab]/i.test(address))].map((address) =>
    displayText(address.replace(/\/\d+$/, '')),
  );
}

function networkLine(interfaces: ReportInterface[]): string {
  if (interfaces.length === 0) return 'no network interface';
  return interfaces
    .map((device) => {
      const name = displayText(device.name);
      const addresses = reachable(device);
      if (addresses.length > 0) return `${name} ${addresses.join(', ')}`;
      return device.state === 'down' ? `${name} down` : `${name} no address`;
    })
    .join('; ');
}

function packagesLine(report: FirstBootReport): string | null {
  const packages = report.packages;
  if (packages.length === 0) return null;
  if (packages.some((entry) => entry.installed === null)) return 'packages: the apk database could not be read';
  const missing = packages.filter((entry) => entry.installed === false).map((entry) => displayText(entry.name));
  if (missing.length === 0) return `all ${packages.length} packages installed`;
  return `${missing.length} package${missing.length === 1 ? '' : 's'} missing: ${missing.join(', ')}`;
}

function servicesLine(services: ReportService[]): string | null {
  if (services.length === 0) return null;
  const troubled = services.filter((service) => service.state !== 'started');
  if (troubled.length === 0) return `all ${services.length} services started`;
  const names = troubled.map((service) => `${displayText(service.name)} ${displayText(service.state ?? 'unknown')}`);
  const started = services.length - troubled.length;
  return `${troubled.length} service${troubled.length === 1 ? '' : 's'} not running: ${names.join(', ')} (${started} started)`;
}

function runOnceText(entry: ReportRunOnce): string {
  const name = displayText(entry.name);
  const earlier = entry.this_boot === false ? ' at an earlier boot' : '';
  switch (entry.status) {
    case 'succeeded':
      return `${name} succeeded${earlier}`;
    case 'failed':
      return `${name} failed${entry.exit_code === null || entry.exit_code === undefined ? '' : ` (exit ${entry.exit_code})`}${earlier}`;
    case 'running':
      return `${name} still running`;
    case 'unfinished':
      return `${name} did not finish${earlier}`;
    case 'not-run':
      return `${name} not run`;
  }
}

function runOnceLine(entries: ReportRunOnce[]): string | null {
  if (entries.length === 0) return null;
  return `run-once: ${entries.map(runOnceText).join(', ')}`;
}

function clockLine(report: FirstBootReport): string | null {
  const clock = report.clock;
  if (!clock) return null;
  const source = displayText(clock.source);
  if (clock.source === 'none') return 'clock: no NTP client (chrony or openntpd) to synchronise it';
  if (clock.synchronized === true) return `clock synchronised (${source})`;
  const detail = clock.detail ? `: ${displayText(clock.detail)}` : '';
  if (clock.synchronized === false) return `clock NOT synchronised (${source}${detail})`;
  return `clock synchronisation unknown (${source}${detail || ' did not answer'})`;
}

function memoryLine(report: FirstBootReport): string | null {
  const total = report.memory?.total_kib;
  const available = report.memory?.available_kib;
  if (total === null || total === undefined) return null;
  if (available === null || available === undefined) return `memory: ${formatBytes(total * 1024)}`;
  return `memory: ${formatBytes(available * 1024)} available of ${formatBytes(total * 1024)}`;
}
