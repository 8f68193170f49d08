import { AppError } from '../../../shared/errors.js';
import type { LocatedIssue } from '../../../shared/model/machine-yaml.js';

/** Where an issue is, for a person: `machine.yml:12:5 network.interfaces[1].wifi.country`. */
export function issueLocation(file: string, issue: LocatedIssue): string {
  const position = issue.line === null ? '' : `:${issue.line}:${issue.column ?? 1}`;
  return `${file}${position} ${issue.path}`;
}

const DEFINITION_HINT = 'fix the definition (apkovl schema prints the JSON Schema for editors)';

/**
 * A definition (or its secrets file) that cannot be used: every problem with its field, line
 * and column. `file` is the file the issues are in.
 */
export class DefinitionError extends AppError {
  constructor(
    readonly file: string,
    readonly issues: LocatedIssue[],
    hint: string = DEFINITION_HINT,
  ) {
    const errors = issues.filter((issue) => issue.severity === 'error');
    super(
      'invalid-input',
      `${errors.length === 1 ? 'a problem' : `${errors.length} problems`}:\n${errors
        .map((issue) => `  ${issueLocation(file, issue)}: ${issue.message}`)
        .join('\n')}`,
      { location: file, hint },
    );
  }
}
