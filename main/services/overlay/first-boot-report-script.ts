import { FIRST_BOOT_REPORT_FILE, FIRST_BOOT_REPORT_FORMAT } from '../../../shared/model/first-boot-report.js';

/**
 * /usr/local/sbin/apkovl-report: the program that writes the first-boot report, for BusyBox ash
 * (Alpine's /bin/sh) and BusyBox applets only. Every absolute path it reads goes through
 * $APKOVL_ROOT and every command it runs is found through PATH, so that a test can run it
 * against a fake system root with stub commands. The text is kept free of `${` and backticks so
 * that it can live in a raw template literal: what is below is byte for byte what the machine
 * runs.
 */

export interface ReportScriptSettings {
  /** Version of Apkovl Studio, recorded in the report. */
  toolVersion: string;
  /** Where this machine's boot partition is normally mounted (/media/mmcblk0p1, /media/usb). */
  bootMediaMount: string;
}

/** A word for a shell script, in single quotes. */
function shellWord(value: string): string {
  return `'${value.replace(/'/g, `'\\''`)}'`;
}

export function firstBootReportScript(settings: ReportScriptSettings): string {
  return String.raw`#!/bin/sh
# Written by Apkovl Studio: the first-boot report. Writes ${FIRST_BOOT_REPORT_FILE} to the boot
# partition: when and on what board this machine booted, its kernel and network addresses,
# whether the packages of /etc/apk/world are installed, the state of the services and of the
# run-once scripts, and whether the clock is synchronised. Never a secret: no keys, hashes,
# passphrases, command lines or environment.
#
#   apkovl-report          write the report now
#   apkovl-report --wait   first wait (minutes at most) for the default runlevel to finish and
#                          for the clock to be synchronised; the boot runs it so, in the background
#
# The boot partition is remounted read-write only while the file is copied, then read-only again.

generator_version=${shellWord(settings.toolVersion)}
expected_mount=${shellWord(settings.bootMediaMount)}
report_name=${shellWord(FIRST_BOOT_REPORT_FILE)}
root=$APKOVL_ROOT # empty on a real system; a fake system root in tests

log() {
	echo "apkovl-report: $*" >&2
}

# Run a command with a time limit (BusyBox timeout), so that nothing can hang the report.
bounded() {
	seconds=$1
	shift
	if command -v timeout >/dev/null 2>&1; then
		timeout "$seconds" "$@"
	else
		"$@"
	fi
}

# $1 as a JSON string: backslash, double quote and every control character escaped (RFC 8259).
json_string() {
	case $1 in
	*[!A-Za-z0-9._:/+@=,-]*) ;;
	*)
		printf '"%s"' "$1"
		return
		;;
	esac
	# The final . keeps trailing newlines, which awk would otherwise lose.
	printf '%s.' "$1" | awk '
		BEGIN {
			for (code = 1; code < 32; code++) escaped[sprintf("%c", code)] = sprintf("\\u%04x", code)
			escaped["\t"] = "\\t"; escaped["\n"] = "\\n"; escaped["\r"] = "\\r"
			escaped["\\"] = "\\\\"; escaped["\""] = "\\\""
		}
		{ text = text (NR > 1 ? "\n" : "") $0 }
		END {
			text = substr(text, 1, length(text) - 1)
			for (position = 1; position <= length(text); position++) {
				character = substr(text, position, 1)
				out = out ((character in escaped) ? escaped[character] : character)
			}
			printf "\"%s\"", out
		}'
}

# A JSON string, or null when $1 is empty.
json_text() {
	if [ -n "$1" ]; then json_string "$1"; else printf null; fi
}

# A JSON whole number, or null when $1 is not one.
json_count() {
	case $1 in
	'' | *[!0-9]*) printf null ;;
	*) printf '%s' "$1" ;;
	esac
}

# yes, no or anything else as true, false or null.
json_flag() {
	case $1 in
	yes) printf true ;;
	no) printf false ;;
	*) printf null ;;
	esac
}

# Unix seconds as an ISO 8601 UTC time; nothing when $1 is empty.
iso_time() {
	[ -n "$1" ] && date -u -d "@$1" +%Y-%m-%dT%H:%M:%SZ 2>/dev/null
}

read_text() {
	cat "$root$1" 2>/dev/null
}

# The options mount point $1 is mounted with; empty when it is not mounted.
mount_options() {
	awk -v point="$1" '$2 == point { options = $4 } END { print options }' "$root/proc/mounts" 2>/dev/null
}

# Whether mount point $1 is mounted and holds Alpine boot media with an apkovl.
is_boot_media() {
	[ -n "$1" ] && [ -n "$(mount_options "$1")" ] && [ -f "$root$1/.alpine-release" ] || return 1
	for overlay in "$root$1"/*.apkovl.tar.gz*; do
		[ -f "$overlay" ] && return 0
	done
	return 1
}

# The mount point of the boot media: where the definition put it, else lbu's LBU_MEDIA, else
# any mount under /media with .alpine-release and an apkovl (the initramfs mounts the boot
# media read-only at /media/<device>).
find_boot_media() {
	candidates=$expected_mount
	lbu_media=$(sed -n 's/^LBU_MEDIA=//p' "$root/etc/lbu/lbu.conf" 2>/dev/null | tr -d "\"'" | head -n 1)
	[ -n "$lbu_media" ] && candidates="$candidates /media/$lbu_media"
	candidates="$candidates $(awk '$2 ~ /^\/media\// { print $2 }' "$root/proc/mounts" 2>/dev/null)"
	for point in $candidates; do
		if is_boot_media "$point"; then
			echo "$point"
			return 0
		fi
	done
	return 1
}

# Wait, within limits, for local (the last service of the default runlevel) to have started and
# for the clock to be synchronised: the report then shows the finished boot and true times.
wait_for_boot() {
	waited=0
	while [ ! -e "$root/run/openrc/started/local" ] && [ "$waited" -lt 180 ]; do
		sleep 3
		waited=$((waited + 3))
	done
	if command -v chronyc >/dev/null 2>&1; then
		bounded 130 chronyc waitsync 12 0 0 10 >/dev/null 2>&1
	elif command -v ntpctl >/dev/null 2>&1; then
		waited=0
		until bounded 10 ntpctl -s status 2>/dev/null | grep -q 'clock synced' || [ "$waited" -ge 120 ]; do
			sleep 10
			waited=$((waited + 10))
		done
	fi
}

board_model() {
	if [ -f "$root/proc/device-tree/model" ]; then
		tr -d '\000' <"$root/proc/device-tree/model"
		return
	fi
	vendor=$(read_text /sys/class/dmi/id/sys_vendor)
	product=$(read_text /sys/class/dmi/id/product_name)
	if [ -n "$vendor" ] && [ -n "$product" ]; then echo "$vendor $product"; else echo "$vendor$product"; fi
}

# The addresses of family $2 (inet, inet6) of interface $1, from ip -o addr, as JSON strings.
address_list() {
	printf '%s\n' "$addresses" | awk -v name="$1" -v family="$2" '
		{ device = $2; sub(/@.*/, "", device) }
		device == name && $3 == family && $4 ~ /^[0-9A-Fa-f:.]+\/[0-9]+$/ {
			printf "%s\"%s\"", separator, $4
			separator = ", "
		}'
}

interfaces_json() {
	addresses=$(bounded 10 ip -o addr show 2>/dev/null)
	separator=
	for device in "$root"/sys/class/net/*; do
		[ -e "$device" ] || continue
		name=$(basename "$device")
		[ "$name" = lo ] && continue
		printf '%s\n    {"name": %s, "state": %s, "mac": %s, "ipv4": [%s], "ipv6": [%s]}' "$separator" \
			"$(json_string "$name")" "$(json_text "$(cat "$device/operstate" 2>/dev/null)")" \
			"$(json_text "$(cat "$device/address" 2>/dev/null)")" \
			"$(address_list "$name" inet)" "$(address_list "$name" inet6)"
		separator=,
	done
}

# Each package of /etc/apk/world (versions and tags stripped): installed or not, from apk's
# database of installed packages, a package also counting as installed when another provides it.
packages_json() {
	world="$root/etc/apk/world"
	database="$root/lib/apk/db/installed"
	known=yes
	[ -f "$database" ] || { database=/dev/null; known=unknown; }
	[ -f "$world" ] || return 0
	awk -v world="$world" -v known="$known" '
		FILENAME != world && /^P:/ { name = substr($0, 3) }
		FILENAME != world && /^V:/ { version[name] = substr($0, 3) }
		FILENAME != world && /^p:/ {
			count = split(substr($0, 3), provided, " ")
			for (item = 1; item <= count; item++) {
				provision = provided[item]
				sub(/[<>=~].*/, "", provision)
				provider[provision] = name
			}
		}
		FILENAME == world {
			entry = $1
			if (entry == "" || entry ~ /^[!#]/) next
			sub(/@.*/, "", entry)
			sub(/[<>=~].*/, "", entry)
			if (known != "yes") print entry "\tunknown\t"
			else if (entry in version) print entry "\tyes\t" version[entry]
			else if (entry in provider) print entry "\tyes\t" version[provider[entry]]
			else print entry "\tno\t"
		}' "$database" "$world" | {
		separator=
		while IFS='	' read -r name installed version; do
			printf '%s\n    {"name": %s, "installed": %s, "version": %s}' "$separator" \
				"$(json_string "$name")" "$(json_flag "$installed")" "$(json_text "$version")"
			separator=,
		done
	}
}

# Every service of the sysinit, boot and default runlevels, and those started on demand or by
# hand, with its state: started, crashed, failed, stopped, starting, inactive, ... (rc-status).
services_json() {
	bounded 20 rc-status -f ini -a 2>/dev/null | awk '
		/^\[/ {
			level = $0
			gsub(/^\[|\]$/, "", level)
			sub(/^Dynamic /, "", level)
			if (level == "needed/wanted") level = "needed"
			next
		}
		/ = / && level ~ /^(sysinit|boot|default|hotplugged|needed|manual)$/ {
			name = $0
			sub(/ = .*/, "", name)
			state = $0
			sub(/^[^=]*= */, "", state)
			sub(/ .*/, "", state)
			print level "\t" name "\t" state
		}' | {
		separator=
		while IFS='	' read -r level name state; do
			printf '%s\n    {"name": %s, "runlevel": %s, "state": %s}' "$separator" \
				"$(json_string "$name")" "$(json_string "$level")" "$(json_text "$state")"
			separator=,
		done
	}
}

result_value() {
	sed -n "s/^$2=//p" "$1" 2>/dev/null | head -n 1
}

# Each run-once script, from the record its wrapper keeps in /etc/run-once/<name>.result.
run_once_json() {
	boot_id=$(read_text /proc/sys/kernel/random/boot_id)
	separator=
	for path in "$root"/etc/run-once/*; do
		[ -f "$path" ] || continue
		case $path in
		*.result) name=$(basename "$path" .result) ;;
		*)
			[ -f "$path.result" ] && continue
			name=$(basename "$path")
			;;
		esac
		result="$root/etc/run-once/$name.result"
		status=not-run exit_code= started_at= finished_at= this_boot=
		if [ -f "$result" ]; then
			exit_code=$(result_value "$result" exit_code)
			started_at=$(result_value "$result" started_at)
			finished_at=$(result_value "$result" finished_at)
			run_boot=$(result_value "$result" boot_id)
			if [ -n "$run_boot" ] && [ -n "$boot_id" ]; then
				if [ "$run_boot" = "$boot_id" ]; then this_boot=yes; else this_boot=no; fi
			fi
			case $exit_code in
			0) status=succeeded ;;
			'') if [ "$this_boot" = yes ]; then status=running; else status=unfinished; fi ;;
			*) status=failed ;;
			esac
		fi
		printf '%s\n    {"name": %s, "status": %s, "exit_code": %s, "started_at": %s, "finished_at": %s, "this_boot": %s}' \
			"$separator" "$(json_string "$name")" "$(json_string "$status")" "$(json_count "$exit_code")" \
			"$(json_text "$started_at")" "$(json_text "$finished_at")" "$(json_flag "$this_boot")"
		separator=,
	done
}

clock_json() {
	source=none synchronized= detail=
	if command -v chronyc >/dev/null 2>&1; then
		source=chrony
		detail=$(bounded 10 chronyc -n tracking 2>/dev/null | sed -n 's/^Leap status *: *//p' | head -n 1)
		case $detail in
		Normal | 'Insert second' | 'Delete second') synchronized=yes ;;
		'Not synchronised') synchronized=no ;;
		esac
	elif command -v ntpctl >/dev/null 2>&1; then
		source=openntpd
		detail=$(bounded 10 ntpctl -s status 2>/dev/null | head -n 1)
		case $detail in
		*'clock synced'*) synchronized=yes ;;
		*'clock unsynced'*) synchronized=no ;;
		esac
	fi
	printf '{"source": %s, "synchronized": %s, "detail": %s}' \
		"$(json_string "$source")" "$(json_flag "$synchronized")" "$(json_text "$detail")"
}

# The report as JSON on standard output; $1 is the mount point of the boot media.
build_report() {
	now=$(date -u +%s)
	uptime=$(awk '{ printf "%d", $1 }' "$root/proc/uptime" 2>/dev/null)
	booted=
	[ -n "$now" ] && [ -n "$uptime" ] && booted=$((now - uptime))
	memory=$(awk '/^MemTotal:/ { total = $2 } /^MemAvailable:/ { available = $2 } END { print total, available }' \
		"$root/proc/meminfo" 2>/dev/null)
	case ",$(mount_options "$1")," in
	*,ro,*) read_only=yes ;;
	*) read_only=no ;;
	esac
	printf '{\n  "format": "${FIRST_BOOT_REPORT_FORMAT}",\n  "version": 1,\n'
	printf '  "generator": {"name": "apkovl-studio", "version": %s},\n' "$(json_string "$generator_version")"
	printf '  "hostname": %s,\n' "$(json_text "$(read_text /proc/sys/kernel/hostname)")"
	printf '  "reported_at": %s,\n' "$(json_text "$(iso_time "$now")")"
	printf '  "booted_at": %s,\n' "$(json_text "$(iso_time "$booted")")"
	printf '  "uptime_seconds": %s,\n' "$(json_count "$uptime")"
	printf '  "board_model": %s,\n' "$(json_text "$(board_model)")"
	printf '  "kernel": {"release": %s, "architecture": %s},\n' \
		"$(json_text "$(uname -r 2>/dev/null)")" "$(json_text "$(uname -m 2>/dev/null)")"
	printf '  "alpine_release": %s,\n' "$(json_text "$(read_text /etc/alpine-release)")"
	printf '  "memory": {"total_kib": %s, "available_kib": %s},\n' \
		"$(json_count "$(echo "$memory" | cut -d ' ' -f 1)")" "$(json_count "$(echo "$memory" | cut -s -d ' ' -f 2)")"
	printf '  "boot_media": {"mount_point": %s, "alpine_release": %s, "read_only": %s},\n' \
		"$(json_string "$1")" "$(json_text "$(head -n 1 "$root$1/.alpine-release" 2>/dev/null)")" "$(json_flag "$read_only")"
	printf '  "interfaces": [%s\n  ],\n' "$(interfaces_json)"
	printf '  "packages": [%s\n  ],\n' "$(packages_json)"
	printf '  "services": [%s\n  ],\n' "$(services_json)"
	printf '  "run_once": [%s\n  ],\n' "$(run_once_json)"
	printf '  "clock": %s\n}\n' "$(clock_json)"
}

remounted=
scratch=

restore_mount() {
	[ -n "$remounted" ] || return 0
	tries=1
	until bounded 20 mount -o remount,ro "$remounted"; do
		if [ "$tries" -ge 3 ]; then
			log "cannot remount $remounted read-only again"
			break
		fi
		tries=$((tries + 1))
		sync
		sleep 1
	done
	remounted=
}

# Copy the report $2 to the boot media at mount point $1, read-write only for as long as that
# takes: a new file renamed over the old one, so that the card never holds half a report.
publish() {
	directory="$root$1"
	case ",$(mount_options "$1")," in
	*,ro,*)
		if ! bounded 20 mount -o remount,rw "$directory"; then
			log "cannot remount $1 read-write: no report written"
			return 1
		fi
		remounted=$directory
		;;
	esac
	written=no
	if cat "$2" >"$directory/$report_name.new" && mv -f "$directory/$report_name.new" "$directory/$report_name"; then
		written=yes
	else
		rm -f "$directory/$report_name.new"
		log "cannot write $1/$report_name"
	fi
	sync
	restore_mount
	[ "$written" = yes ]
}

cleanup() {
	restore_mount
	[ -n "$scratch" ] && rm -f "$scratch"
}
trap cleanup EXIT
trap 'exit 1' INT TERM

if [ "$1" = --wait ]; then
	trap '' HUP
	wait_for_boot
fi
if ! mount_point=$(find_boot_media); then
	log "no boot media (.alpine-release and an apkovl) is mounted under /media: no report written"
	exit 0
fi
scratch=$(mktemp) || exit 1
build_report "$mount_point" >"$scratch" || exit 1
publish "$mount_point" "$scratch" || exit 1
log "wrote $mount_point/$report_name"
`;
}
