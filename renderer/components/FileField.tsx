interface FileFieldProps {
  id: string;
  label: string;
  help: string;
  value: string;
  error?: string | undefined;
  disabled: boolean;
  onChange: (value: string) => void;
  onBrowse: () => void;
}

/** A path with a Browse button; typing a path works too. */
export function FileField({ id, label, help, value, error, disabled, onChange, onBrowse }: FileFieldProps) {
  return (
    <div className={`field${error ? ' invalid' : ''}`}>
      <label htmlFor={id}>{label}</label>
      <div className="field-row">
        <input
          id={id}
          type="text"
          spellCheck={false}
          value={value}
          disabled={disabled}
          aria-invalid={error ? true : undefined}
          aria-describedby={`${id}-help`}
          onChange={(event) => onChange(event.target.value)}
        />
        <button type="button" className="secondary" disabled={disabled} onClick={onBrowse}>
          Browse…
        </button>
      </div>
      <p id={`${id}-help`} className={error ? 'error-text' : 'help'}>
        {error ?? help}
      </p>
    </div>
  );
}
