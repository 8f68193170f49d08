import { IpcError } from '../../shared/ipc/client.js';

/** What went wrong, where, and what to do: the three parts of every error the services raise. */
export function ErrorPanel({ error, title }: { error: unknown; title: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const location = error instanceof IpcError ? error.location : null;
  const hint = error instanceof IpcError ? error.hint : null;
  return (
    <section className="error-panel" role="alert" aria-label={title}>
      <h3>{title}</h3>
      <p>{message.charAt(0).toUpperCase() + message.slice(1)}</p>
      {location ? (
        <p className="muted">
          Where: <code>{location}</code>
        </p>
      ) : null}
      {hint ? <p>What to do: {hint}</p> : null}
    </section>
  );
}
