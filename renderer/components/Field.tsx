import type { ReactNode } from 'react';
import type { LocatedIssue } from '../../shared/model/machine-yaml.js';

/** The ids a control points at with aria-describedby, and whether it is invalid. */
export function describedBy(id: string, issues: LocatedIssue[] | undefined) {
  const invalid = (issues ?? []).some((issue) => issue.severity === 'error');
  const warned = (issues ?? []).length > 0;
  return {
    'aria-invalid': invalid ? true : undefined,
    'aria-describedby': warned ? `${id}-error` : `${id}-help`,
  } as const;
}

/** A labelled control with its help, or the problems the shared schema found in it. */
export function Field({
  id,
  label,
  help,
  issues,
  children,
}: {
  id: string;
  label: string;
  help?: string;
  issues?: LocatedIssue[] | undefined;
  children: ReactNode;
}) {
  const errors = (issues ?? []).filter((issue) => issue.severity === 'error');
  const warnings = (issues ?? []).filter((issue) => issue.severity === 'warning');
  return (
    <div className={`field${errors.length > 0 ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      {children}
      {errors.length + warnings.length > 0 ? (
        <div id={`${id}-error`}>
          {errors.map((issue) => (
            <p key={issue.message} className="error-text">
              {issue.message}
            </p>
          ))}
          {warnings.map((issue) => (
            <p key={issue.message} className="warning">
              {issue.message}
            </p>
          ))}
        </div>
      ) : help ? (
        <p className="help" id={`${id}-help`}>
          {help}
        </p>
      ) : null}
    </div>
  );
}
