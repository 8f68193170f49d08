import { timeZoneNames } from '../data/time-zones.js';
import { closestName, editDistance } from './closest-name.js';

/** Time zone names Alpine's tzdata has (/usr/share/zoneinfo/<name>); see shared/data/time-zones.ts. */
const known = new Set(timeZoneNames);

/** The city part of a zone name: America/Argentina/Buenos_Aires -> buenos_aires. */
const city = (name: string) => (name.split('/').at(-1) ?? name).toLowerCase();

/**
 * The zone someone probably meant: the same name in other case (europe/berlin), a near miss
 * (Europe/Berln, America/New York), or a city on its own (Berlin).
 */
export function suggestTimeZone(written: string): string | null {
  const lower = written.toLowerCase().replace(/ /g, '_');
  const sameExceptCase = timeZoneNames.find((name) => name.toLowerCase() === lower);
  if (sameExceptCase !== undefined) return sameExceptCase;
  return closestName(lower, timeZoneNames, (name) =>
    Math.min(editDistance(lower, name.toLowerCase()), editDistance(lower, city(name))),
  );
}

/** Why `value` is not a time zone of Alpine's tzdata, or null. */
export function timeZoneProblem(value: string): string | null {
  if (known.has(value)) return null;
  const suggestion = suggestTimeZone(value);
  const hint =
    suggestion === null ? 'use a name such as Europe/Berlin, America/New_York or UTC' : `did you mean ${suggestion}?`;
  return `not a time zone of Alpine's tzdata (IANA names, as in /usr/share/zoneinfo); ${hint}`;
}
