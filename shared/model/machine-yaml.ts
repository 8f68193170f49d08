import { isAlias, isMap, isPair, isScalar, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { closestName } from '../rules/closest-name.js';
import { displayText } from '../rules/display.js';
import { checkMachine } from '../rules/machine.js';
import { machineSchema, type Machine } from './machine.js';
import { isSecretField, misplacedSecretMessage } from './secret-fields.js';
import { brokenAlias, excessiveAliases, MAX_ALIAS_COUNT } from './yaml-aliases.js';

/**
 * Machine definitions from YAML text: parse, substitute `${secret:name}`, validate against the
 * schema and the cross-field rules, and say where each problem is (field path, line, column).
 * Pure: the caller reads the files. Secret values never appear in a message.
 */

export interface LocatedIssue {
  /** e.g. network.interfaces[1].wifi.country */
  path: string;
  line: number | null;
  column: number | null;
  message: string;
  severity: 'error' | 'warning';
}

export type ParsedMachine = { machine: Machine; issues: LocatedIssue[] } | { machine: null; issues: LocatedIssue[] };

const SECRET = /\$\{secret:([A-Za-z0-9_.-]+)\}/g;

export function formatPath(path: readonly PropertyKey[]): string {
  let text = '';
  for (const part of path) {
    if (typeof part === 'number') text += `[${part}]`;
    else text += text === '' ? String(part) : `.${String(part)}`;
  }
  return text === '' ? '(top level)' : text;
}

/** The first line of a yaml library error, without its position (issues carry it) or the source it quotes. */
function yamlErrorMessage(message: string): string {
  return (message.split('\n')[0] ?? message).replace(/ at line \d+, column \d+:?$/, '');
}

/** Parse a secrets file: a YAML mapping of names to strings. */
export function parseSecrets(text: string): { secrets: Record<string, string>; issues: LocatedIssue[] } {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  const issues: LocatedIssue[] = document.errors.map((error) => ({
    path: '(secrets)',
    line: error.linePos?.[0].line ?? null,
    column: error.linePos?.[0].col ?? null,
    message: yamlErrorMessage(error.message),
    severity: 'error',
  }));
  const secrets: Record<string, string> = {};
  if (issues.length > 0) return { secrets, issues };
  const contents = document.contents;
  if (contents === null) return { secrets, issues };
  if (!isMap(contents))
    return {
      secrets,
      issues: [
        {
          path: '(secrets)',
          line: 1,
          column: 1,
          message: 'the secrets file must be a mapping of names to values',
          severity: 'error',
        },
      ],
    };
  for (const item of contents.items) {
    const key = isScalar(item.key) ? String(item.key.value) : '';
    const position = item.key && isScalar(item.key) && item.key.range ? lineCounter.linePos(item.key.range[0]) : null;
    if (!/^[A-Za-z0-9_.-]+$/.test(key)) {
      issues.push({
        path: key === '' ? '(secrets)' : displayText(key),
        line: position?.line ?? null,
        column: position?.col ?? null,
        message: 'a secret name has letters, digits, _ . or - only',
        severity: 'error',
      });
      continue;
    }
    if (!isScalar(item.value) || (typeof item.value.value !== 'string' && typeof item.value.value !== 'number')) {
      issues.push({
        path: key,
        line: position?.line ?? null,
        column: position?.col ?? null,
        message: isAlias(item.value)
          ? `the secret ${key} is an alias (*${displayText(item.value.source)}): write the value itself`
          : `the secret ${key} must be a text value`,
        severity: 'error',
      });
      continue;
    }
    secrets[key] = String(item.value.value);
  }
  return { secrets, issues };
}

interface SecretReferences {
  /** References to secrets that are not there (or no secrets at all). */
  missing: { path: PropertyKey[]; name: string }[];
  /** References in fields that would store the value in clear text: left as written. */
  misplaced: PropertyKey[][];
}

function substitute(
  value: unknown,
  secrets: Record<string, string> | null,
  path: PropertyKey[],
  references: SecretReferences,
): unknown {
  if (typeof value === 'string') {
    if (!isSecretField(path)) {
      if (value.search(SECRET) !== -1) references.misplaced.push(path);
      return value;
    }
    return value.replace(SECRET, (_match, name: string) => {
      const secret = secrets?.[name];
      if (secret === undefined) {
        references.missing.push({ path, name });
        return '';
      }
      return secret;
    });
  }
  if (Array.isArray(value)) return value.map((item, index) => substitute(item, secrets, [...path, index], references));
  if (value !== null && typeof value === 'object') {
    return Object.fromEntries(
      Object.entries(value).map(([key, item]) => [key, substitute(item, secrets, [...path, key], references)]),
    );
  }
  return value;
}

interface ZodDefinition {
  type: string;
  shape?: Record<string, { _zod: { def: ZodDefinition } }>;
  element?: { _zod: { def: ZodDefinition } };
  innerType?: { _zod: { def: ZodDefinition } };
  options?: { _zod: { def: ZodDefinition } }[];
  in?: { _zod: { def: ZodDefinition } };
}

/** The keys the schema accepts at `path`, for "did you mean" hints. */
function knownKeys(path: PropertyKey[]): string[] {
  let definitions: ZodDefinition[] = [(machineSchema as unknown as { _zod: { def: ZodDefinition } })._zod.def];
  const unwrap = (definition: ZodDefinition): ZodDefinition[] => {
    if (definition.innerType) return unwrap(definition.innerType._zod.def);
    if (definition.in) return unwrap(definition.in._zod.def);
    if (definition.options) return definition.options.flatMap((option) => unwrap(option._zod.def));
    return [definition];
  };
  for (const part of path) {
    definitions = definitions.flatMap(unwrap).flatMap((definition) => {
      if (typeof part === 'number') return definition.element ? [definition.element._zod.def] : [];
      const child = definition.shape?.[String(part)];
      return child ? [child._zod.def] : [];
    });
  }
  return [...new Set(definitions.flatMap(unwrap).flatMap((definition) => Object.keys(definition.shape ?? {})))];
}

type Issue = z.core.$ZodIssue;

/**
 * Of the branches of a union that all failed, the one the input most likely meant: fewest
 * problems, then the one that got deepest into the input.
 */
function closestBranch(branches: Issue[][]): Issue[] {
  const depth = (issues: Issue[]) => Math.max(0, ...issues.map((issue) => issue.path.length));
  const ranked = [...branches].sort((left, right) => left.length - right.length || depth(right) - depth(left));
  return ranked[0] ?? [];
}

/** Flatten unions into the issues of their closest branch, with full paths. */
function flatten(issue: Issue, prefix: PropertyKey[] = []): { path: PropertyKey[]; issue: Issue }[] {
  const path = [...prefix, ...issue.path];
  if (issue.code === 'invalid_union' && issue.errors.length > 0) {
    return closestBranch(issue.errors).flatMap((inner) => flatten(inner, path));
  }
  return [{ path, issue }];
}

function describe(issue: Issue): string {
  if (issue.code === 'invalid_type' && issue.input === undefined) return 'required: add this key';
  return issue.message;
}

function locate(
  document: Document,
  lineCounter: LineCounter,
  path: PropertyKey[],
  key?: string,
): { line: number | null; column: number | null } {
  for (let depth = path.length; depth >= 0; depth -= 1) {
    const node = depth === 0 ? document.contents : document.getIn(path.slice(0, depth) as (string | number)[], true);
    if (node && typeof node === 'object' && 'range' in node && Array.isArray(node.range)) {
      if (key !== undefined && depth === path.length && isMap(node)) {
        const pair = node.items.find((item) => isPair(item) && isScalar(item.key) && item.key.value === key);
        const keyNode = pair?.key;
        if (keyNode && isScalar(keyNode) && keyNode.range) {
          const position = lineCounter.linePos(keyNode.range[0]);
          return { line: position.line, column: position.col };
        }
      }
      const position = lineCounter.linePos(node.range[0] as number);
      return { line: position.line, column: position.col };
    }
  }
  return { line: null, column: null };
}

/** Maps a field path (and optionally one of its keys) to a line and column of the source text. */
export type Locator = (path: PropertyKey[], key?: string) => { line: number | null; column: number | null };

/**
 * Validate a definition given as plain data (from YAML, or from the app's form): substitute
 * secrets, check the schema and the cross-field rules. `locate` maps a field path to a line
 * and column when there is a source text.
 */
export function validateMachine(
  raw: unknown,
  secrets: Record<string, string> | null,
  locate: Locator = () => ({ line: null, column: null }),
): ParsedMachine {
  const issues: LocatedIssue[] = [];
  const scrub = (message: string): string => {
    let out = message;
    for (const value of Object.values(secrets ?? {})) if (value.length >= 4) out = out.split(value).join('‹secret›');
    return out;
  };
  const add = (path: PropertyKey[], message: string, severity: LocatedIssue['severity'], key?: string) => {
    // Keys and values of the definition reach messages ("unknown key ..."): no control characters.
    issues.push({
      path: displayText(formatPath(key === undefined ? path : [...path, key])),
      ...locate(path, key),
      message: displayText(scrub(message)),
      severity,
    });
  };
  if (raw === null || typeof raw !== 'object' || Array.isArray(raw)) {
    add([], 'a machine definition is a YAML mapping (version: 1, hostname: ..., target: ...)', 'error');
    return { machine: null, issues };
  }
  const references: SecretReferences = { missing: [], misplaced: [] };
  const substituted = substitute(raw, secrets, [], references);
  for (const path of references.misplaced) add(path, misplacedSecretMessage, 'error');
  for (const reference of references.missing) {
    add(
      reference.path,
      secrets === null
        ? `refers to the secret ${reference.name}, but no secrets file was given (--secrets FILE)`
        : `the secret ${reference.name} is not in the secrets file`,
      'error',
    );
  }
  const parsed = machineSchema.safeParse(substituted, { reportInput: true });
  if (!parsed.success) {
    const secretPaths = new Set(
      [...references.missing.map((reference) => reference.path), ...references.misplaced].map(formatPath),
    );
    for (const { path: issuePath, issue } of parsed.error.issues.flatMap((found) => flatten(found))) {
      // A secret that is missing or misplaced was not substituted: its field's own complaint would only confuse.
      if (secretPaths.has(formatPath(issuePath))) continue;
      if (issue.code === 'unrecognized_keys') {
        for (const key of issue.keys) {
          const known = knownKeys(issuePath);
          const closest = closestName(key, known);
          const hint =
            closest !== null
              ? `; did you mean ${closest}?`
              : known.length > 0
                ? `; known keys: ${known.join(', ')}`
                : '';
          add(issuePath, `unknown key "${key}"${hint}`, 'error', key);
        }
        continue;
      }
      add(issuePath, describe(issue), 'error');
    }
    return { machine: null, issues };
  }
  for (const found of checkMachine(parsed.data)) add(found.path, found.message, found.severity);
  return issues.some((issue) => issue.severity === 'error')
    ? { machine: null, issues }
    : { machine: parsed.data, issues };
}

export function parseMachineYaml(text: string, secrets: Record<string, string> | null): ParsedMachine {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  const issues: LocatedIssue[] = document.errors.map((error) => ({
    path: '(yaml)',
    line: error.linePos?.[0].line ?? null,
    column: error.linePos?.[0].col ?? null,
    message: yamlErrorMessage(error.message),
    severity: 'error' as const,
  }));
  if (issues.length > 0) return { machine: null, issues };
  const broken = brokenAlias(document, lineCounter);
  if (broken !== null) return { machine: null, issues: [{ path: '(yaml)', ...broken, severity: 'error' }] };
  let raw: unknown;
  try {
    raw = document.toJS({ maxAliasCount: MAX_ALIAS_COUNT });
  } catch (error) {
    // The yaml library's guard against alias bombs ("Excessive alias count ...").
    if (!(error instanceof ReferenceError)) throw error;
    return {
      machine: null,
      issues: [{ path: '(yaml)', ...excessiveAliases(document, lineCounter), severity: 'error' }],
    };
  }
  return validateMachine(raw, secrets, (path, key) => locate(document, lineCounter, path, key));
}

/** Where fields are in a definition's text, for problems found after parsing (source files, ...). */
export function yamlLocator(text: string): Locator {
  const lineCounter = new LineCounter();
  const document = parseDocument(text, { lineCounter, uniqueKeys: true });
  return (path, key) => locate(document, lineCounter, path, key);
}
