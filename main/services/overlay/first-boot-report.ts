import { FIRST_BOOT_REPORT_FILE } from '../../../shared/model/first-boot-report.js';
import type { Machine } from '../../../shared/model/machine.js';
import { contribution, type Contribution } from './contribution.js';
import { firstBootReportScript } from './first-boot-report-script.js';
import { bootMediaMount } from './media-paths.js';
import { file } from './overlay-entry.js';

export const REPORT_SERVICE = 'apkovl-report';
export const REPORT_PROGRAM = 'usr/local/sbin/apkovl-report';

/**
 * The OpenRC service of the first-boot report. `after *` puts it after every other service of
 * the default runlevel; `before local` takes local out of that list (OpenRC's deptree supports
 * exactly this pair) so that it is not a cycle with local, which is `after *` itself. Its start
 * only launches the program in the background, detached, with a time limit: the program waits
 * for local to have started, so the report sees the run-once scripts local runs and the whole
 * default runlevel, and the boot is never delayed.
 */
const REPORT_SERVICE_SCRIPT = String.raw`#!/sbin/openrc-run
# Written by Apkovl Studio: the first-boot report. Once the default runlevel has finished
# (local, its last service, has started), /${REPORT_PROGRAM} writes ${FIRST_BOOT_REPORT_FILE}
# to the boot partition. It runs in the background so that it never delays the boot; its
# messages go to /var/log/apkovl-report.log. Run it again: rc-service ${REPORT_SERVICE} restart
description="Write the first-boot report (${FIRST_BOOT_REPORT_FILE}) to the boot partition"

depend() {
	after *
	before local
}

start() {
	root=$APKOVL_ROOT # empty on a real system; a fake system root in tests
	ebegin "Writing the first-boot report in the background"
	set -- "$root/${REPORT_PROGRAM}" --wait
	command -v timeout >/dev/null 2>&1 && set -- timeout 600 "$@"
	command -v setsid >/dev/null 2>&1 && set -- setsid "$@"
	"$@" </dev/null >"$root/var/log/apkovl-report.log" 2>&1 3>&- 4>&- 5>&- 6>&- 7>&- 8>&- 9>&- &
	eend 0
}
`;

/** The first-boot report (the definition's `report`, on by default): its service and program. */
export function firstBootReportFiles(machine: Machine, toolVersion: string): Contribution {
  if (!machine.report) return contribution();
  return contribution({
    entries: [
      file(`etc/init.d/${REPORT_SERVICE}`, REPORT_SERVICE_SCRIPT, 0o755),
      file(
        REPORT_PROGRAM,
        firstBootReportScript({ toolVersion, bootMediaMount: bootMediaMount(machine).mountPoint }),
        0o755,
      ),
    ],
    // local is the last service; the report waits for it to have started.
    services: { default: [REPORT_SERVICE, 'local'] },
  });
}
