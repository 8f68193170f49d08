import type { ReactNode } from 'react';
import type { LocatedIssue } from '../../shared/model/machine-yaml.js';

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
      {errors.map((issue) => (
        <p key={issue.message} className="error-text" id={`${id}-error`}>
          {issue.message}
        </p>
      ))}
      {warnings.map((issue) => (
        <p key={issue.message} className="warning">
          {issue.message}
        </p>
      ))}
      {errors.length === 0 && warnings.length === 0 && help ? <p className="help">{help}</p> : null}
    </div>
  );
}
