import { z } from 'zod';
import { AppError } from '../errors.js';

/**
 * The first-boot report: what a machine booted from a generated overlay writes to its boot
 * partition (apkovl-report.json) once the default runlevel is up, at every boot. Written by
 * /usr/local/sbin/apkovl-report on the machine, read by `apkovl verify` from a card. Field names
 * are snake_case like the machine definition. Anything a system may lack is optional and may be
 * null; unknown fields are ignored, so that a newer report of the same version still parses.
 */

export const FIRST_BOOT_REPORT_FILE = 'apkovl-report.json';
export const FIRST_BOOT_REPORT_FORMAT = 'apkovl-first-boot-report';

/** The states rc-status shows; `started` is the only good one. */
export const SERVICE_STATES = [
  'started',
  'crashed',
  'unsupervised',
  'failed',
  'stopped',
  'starting',
  'stopping',
  'inactive',
  'scheduled',
] as const;

export const RUN_ONCE_STATUSES = ['succeeded', 'failed', 'running', 'unfinished', 'not-run'] as const;

const utcTime = z
  .string()
  .regex(/^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\dZ$/, 'an ISO 8601 UTC time such as 2026-11-28T10:02:11Z');
const count = z.number().int().nonnegative();

export const reportInterfaceSchema = z.object({
  name: z.string(),
  state: z.string().nullish().describe('operstate: up, down, unknown, dormant, ...'),
  mac: z.string().nullish(),
  ipv4: z.array(z.string()).default([]).describe('addresses with prefix length, e.g. 192.168.1.23/24'),
  ipv6: z.array(z.string()).default([]),
});

export const reportPackageSchema = z.object({
  name: z.string(),
  installed: z.boolean().nullable().describe('null when the apk database could not be read'),
  version: z.string().nullish(),
});

export const reportServiceSchema = z.object({
  name: z.string(),
  runlevel: z.string().describe('sysinit, boot, default, or hotplugged, needed, manual'),
  state: z
    .string()
    .nullish()
    .describe(`as rc-status shows it: ${SERVICE_STATES.join(', ')}`),
});

export const reportRunOnceSchema = z.object({
  name: z.string(),
  status: z.enum(RUN_ONCE_STATUSES),
  exit_code: count.nullish(),
  started_at: utcTime.nullish(),
  finished_at: utcTime.nullish(),
  this_boot: z.boolean().nullish().describe('false: the record is from an earlier boot (kept by lbu)'),
});

export const firstBootReportSchema = z.object({
  format: z.literal(FIRST_BOOT_REPORT_FORMAT),
  version: z.literal(1, { error: 'this tool reads first-boot reports of version 1' }),
  generator: z.object({ name: z.string(), version: z.string() }).describe('the tool that generated the overlay'),
  hostname: z.string().nullish(),
  reported_at: utcTime.nullish(),
  booted_at: utcTime.nullish().describe('the report time minus the uptime, by the clock at report time'),
  uptime_seconds: count.nullish(),
  board_model: z.string().nullish().describe('device tree model, or DMI vendor and product'),
  kernel: z.object({ release: z.string().nullish(), architecture: z.string().nullish() }).nullish(),
  alpine_release: z.string().nullish(),
  memory: z.object({ total_kib: count.nullish(), available_kib: count.nullish() }).nullish(),
  boot_media: z
    .object({
      mount_point: z.string(),
      alpine_release: z.string().nullish().describe('the .alpine-release of the card, e.g. alpine-rpi-3.22.2 251017'),
      read_only: z.boolean().nullish().describe('whether the partition was mounted read-only (and so remounted)'),
    })
    .nullish(),
  interfaces: z.array(reportInterfaceSchema).default([]),
  packages: z.array(reportPackageSchema).default([]).describe('each package of /etc/apk/world'),
  services: z.array(reportServiceSchema).default([]),
  run_once: z.array(reportRunOnceSchema).default([]),
  clock: z
    .object({
      source: z.string().describe('chrony, openntpd or none'),
      synchronized: z.boolean().nullish(),
      detail: z.string().nullish().describe("chrony's leap status or ntpctl's status line"),
    })
    .nullish(),
});

export type FirstBootReport = z.output<typeof firstBootReportSchema>;
export type ReportInterface = FirstBootReport['interfaces'][number];
export type ReportService = FirstBootReport['services'][number];
export type ReportRunOnce = FirstBootReport['run_once'][number];

/** The text of apkovl-report.json as a report; an AppError says what is wrong with it. */
export function parseFirstBootReport(text: string, location = FIRST_BOOT_REPORT_FILE): FirstBootReport {
  let data: unknown;
  try {
    data = JSON.parse(text);
  } catch (error) {
    throw new AppError('invalid-media', `the first-boot report is not JSON: ${(error as Error).message}`, {
      location,
      hint: 'the machine writes it again at its next boot',
    });
  }
  const parsed = firstBootReportSchema.safeParse(data);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const where = issue === undefined || issue.path.length === 0 ? '' : `${issue.path.join('.')}: `;
    throw new AppError(
      'invalid-media',
      `the first-boot report does not fit its format: ${where}${issue?.message ?? ''}`,
      {
        location,
        hint: 'a report written by a newer Apkovl Studio needs a newer version of this tool',
      },
    );
  }
  return parsed.data;
}
