import { parseMac } from '../../../shared/rules/network.js';

/**
 * What a request to `apkovl serve` asks for, decided from its method and request target alone,
 * before any file is looked at. Only `GET` (and `HEAD`) of `/<name>.apkovl.tar.gz` can be
 * answered, where `<name>` is a MAC address (`:`, `-` or no separators, any case: Alpine's
 * initramfs puts the lower-case colon form in place of `{MAC}`) or a host name. Everything else
 * is refused here with the reason, which the log shows: other methods, absolute URLs, more than
 * one path segment, dot segments, encoded slashes, bad percent-encoding, control characters.
 * The answer never names a file on disk: the server maps the name to a definition it was given.
 */
export type RequestTarget =
  | {
      kind: 'apkovl';
      /** The name before `.apkovl.tar.gz`, as requested (decoded). */
      name: string;
      /** The name as a MAC address in lower-case colon form, when it is one. */
      mac: string | null;
    }
  | { kind: 'refused'; status: 400 | 404 | 405; reason: string };

export const APKOVL_SUFFIX = '.apkovl.tar.gz';
const NAME = /^[A-Za-z0-9][A-Za-z0-9:._-]*$/;

const refuse = (status: 400 | 404 | 405, reason: string): RequestTarget => ({ kind: 'refused', status, reason });

export function parseRequestTarget(method: string, target: string): RequestTarget {
  if (method !== 'GET' && method !== 'HEAD') return refuse(405, `the method ${method} (only GET and HEAD are served)`);
  if (!target.startsWith('/')) return refuse(400, 'not a path (an absolute URL or another request-target form)');
  if (target.startsWith('//')) return refuse(400, 'a path starting with // (a network-path reference)');
  const [rawPath = ''] = target.split('?', 1);
  if (/%(2f|5c)/i.test(rawPath)) return refuse(400, 'an encoded slash or backslash in the path');
  if (/%2e/i.test(rawPath)) return refuse(400, 'an encoded dot in the path');
  let path: string;
  try {
    path = decodeURIComponent(rawPath);
  } catch {
    return refuse(400, 'bad percent-encoding in the path');
  }
  // eslint-disable-next-line no-control-regex -- control characters are what is refused here
  if (/[\x00-\x1f\x7f]/.test(path)) return refuse(400, 'a control character in the path');
  const segments = path.slice(1).split('/');
  if (segments.some((segment) => segment === '.' || segment === '..'))
    return refuse(400, 'a dot segment (. or ..) in the path');
  if (segments.length > 1 || path.includes('\\'))
    return refuse(404, `only /<MAC or host name>${APKOVL_SUFFIX} is served, at the top level`);
  const file = segments[0] ?? '';
  if (!file.endsWith(APKOVL_SUFFIX)) return refuse(404, `not an apkovl name (<MAC or host name>${APKOVL_SUFFIX})`);
  const name = file.slice(0, -APKOVL_SUFFIX.length);
  if (!NAME.test(name)) return refuse(404, 'not a MAC address or host name');
  return { kind: 'apkovl', name, mac: parseMac(name) };
}
