import { bkeymaps } from '../data/keymaps.js';
import { closestName, editDistance } from './closest-name.js';
import { displayText } from './display.js';

/**
 * Console keymaps, written "layout variant" as setup-keymap takes them: the map is
 * /usr/share/bkeymaps/<layout>/<variant>.bmap.gz of Alpine's kbd-bkeymaps (see
 * shared/data/keymaps.ts), e.g. "us us" or "de de-nodeadkeys".
 */

const maps = new Map(Object.entries(bkeymaps).map(([layout, names]) => [layout, names.split(' ')]));
const layouts = [...maps.keys()];
/** Layouts people write that XKB calls otherwise. */
const OTHER_NAMES = new Map([['uk', 'gb']]);

/** The keymap someone probably meant, as "layout variant", or null. */
function suggestKeymap(layout: string, variant: string | undefined): string | null {
  const variants = maps.get(layout);
  if (variants === undefined) {
    // A variant written alone (de-nodeadkeys), or a near miss of the layout.
    const alone = variant === undefined ? layout : variant;
    const owner = maps.get(alone.split('-')[0] ?? '');
    if (owner?.includes(alone)) return `${alone.split('-')[0]} ${alone}`;
    const closest = OTHER_NAMES.get(layout) ?? closestName(layout, layouts);
    if (closest === null) return null;
    return suggestKeymap(closest, variant) ?? `${closest} ${maps.get(closest)?.[0] ?? closest}`;
  }
  if (variant === undefined) return variants.includes(layout) ? `${layout} ${layout}` : `${layout} ${variants[0]}`;
  // The variant without its layout prefix (de nodeadkeys), or a near miss of it.
  if (variants.includes(`${layout}-${variant}`)) return `${layout} ${layout}-${variant}`;
  const closest = closestName(variant, variants, (name) =>
    Math.min(editDistance(variant, name), editDistance(variant, name.slice(layout.length + 1))),
  );
  return closest === null ? null : `${layout} ${closest}`;
}

/** Why `value` is not a keymap of Alpine's kbd-bkeymaps, or null. */
export function keymapProblem(value: string): string | null {
  const words = value.split(' ');
  const [layout = '', variant] = words;
  if (words.length === 2 && maps.get(layout)?.includes(variant ?? '')) return null;
  // Suggest from the words however they are spaced: "de  de" (two spaces) is "de de".
  const typed = value.trim().split(/\s+/);
  const suggestion = typed.length <= 2 ? suggestKeymap(typed[0] ?? '', typed[1]) : null;
  const hint = suggestion === null ? '' : `; did you mean "${suggestion}"?`;
  if (words.length !== 2) return `write "layout variant", e.g. "us us" or "de de-nodeadkeys"${hint}`;
  if (!maps.has(layout))
    return `Alpine's kbd-bkeymaps has no layout "${displayText(layout)}"${hint || '; layouts are XKB names such as us, gb, de, fr'}`;
  const names = maps.get(layout) ?? [];
  const some = names.length > 12 ? `${names.slice(0, 12).join(', ')}, ... (${names.length} in all)` : names.join(', ');
  const known = hint === '' ? `; ${layout} has ${some}` : hint;
  return `Alpine's kbd-bkeymaps has no keymap ${displayText(layout)}/${displayText(variant ?? '')}${known}`;
}
