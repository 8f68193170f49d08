import { isAlias, isCollection, isNode, isPair, visit, type Document, type LineCounter, type Node } from 'yaml';
import { displayText } from '../rules/display.js';

/**
 * YAML anchors (`&name`) and aliases (`*name`) that cannot become data, each found at the alias:
 * an alias with no anchor before it, an alias inside the node it refers to (a loop), and aliases
 * that expand into far more data than a definition holds (a "billion laughs": a few lines of
 * nested aliases that stand for millions of values).
 */

export interface AliasProblem {
  line: number | null;
  column: number | null;
  message: string;
}

/** As many alias resolutions as the `yaml` library allows in `toJS` before it gives up. */
export const MAX_ALIAS_COUNT = 100;

function position(lineCounter: LineCounter, node: Node): { line: number | null; column: number | null } {
  if (node.range === undefined || node.range === null) return { line: null, column: null };
  const found = lineCounter.linePos(node.range[0]);
  return { line: found.line, column: found.col };
}

/** Every alias with the node it refers to (the last node anchored with its name before it), in order. */
function resolveAliases(document: Document): { alias: Node & { source: string }; target: Node | null }[] {
  const anchored = new Map<string, Node>();
  const found: { alias: Node & { source: string }; target: Node | null }[] = [];
  visit(document, {
    Node: (_key, node) => {
      if (isAlias(node)) found.push({ alias: node, target: anchored.get(node.source) ?? null });
      else if (node.anchor !== undefined) anchored.set(node.anchor, node);
    },
  });
  return found;
}

function contains(outer: Node, inner: Node): boolean {
  const [start, end] = outer.range ?? [0, -1];
  const [innerStart] = inner.range ?? [-1];
  return innerStart >= start && innerStart < end;
}

/** How many values a node stands for once every alias in it is expanded. */
function expandedSize(node: unknown, targets: Map<Node, Node | null>, sizes: Map<unknown, number>): number {
  const known = sizes.get(node);
  if (known !== undefined) return known;
  let size = 1;
  if (isAlias(node)) {
    const target = targets.get(node);
    size = target ? expandedSize(target, targets, sizes) : 1;
  } else if (isCollection(node)) {
    for (const item of node.items) size += expandedSize(item, targets, sizes);
  } else if (isPair(node)) {
    size = expandedSize(node.key, targets, sizes) + expandedSize(node.value, targets, sizes);
  } else if (!isNode(node)) size = 0;
  sizes.set(node, size);
  return size;
}

/** The first alias that cannot be resolved, or that refers to a node it is in. */
export function brokenAlias(document: Document, lineCounter: LineCounter): AliasProblem | null {
  for (const { alias, target } of resolveAliases(document)) {
    const name = displayText(alias.source);
    if (target === null)
      return {
        ...position(lineCounter, alias),
        message: `the alias *${name} refers to no anchor: define &${name} before it`,
      };
    if (contains(target, alias))
      return {
        ...position(lineCounter, alias),
        message: `the alias *${name} is inside the node &${name} it refers to, which makes a loop`,
      };
  }
  return null;
}

/** Where to point when the aliases expand to too much: the alias that stands for the most values. */
export function excessiveAliases(document: Document, lineCounter: LineCounter): AliasProblem {
  const aliases = resolveAliases(document);
  const targets = new Map(aliases.map(({ alias, target }) => [alias as Node, target]));
  const sizes = new Map<unknown, number>();
  let largest: { alias: Node & { source: string }; size: number } | null = null;
  for (const { alias } of aliases) {
    const size = expandedSize(alias, targets, sizes);
    if (largest === null || size > largest.size) largest = { alias, size };
  }
  const where = largest === null ? { line: null, column: null } : position(lineCounter, largest.alias);
  const detail =
    largest === null ? '' : ` (*${displayText(largest.alias.source)} here stands for ${largest.size} values)`;
  return {
    ...where,
    message: `the YAML aliases expand to too much data${detail}; write the values out instead of repeating &anchors and *aliases`,
  };
}
