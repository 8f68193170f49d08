import { IpcError } from '../../shared/ipc/client.js';

/** What went wrong, where, and what to do: the three parts of every error the services raise. */
export function ErrorPanel({ error, title = 'The image was not built' }: { error: unknown; title?: string }) {
  const message = error instanceof Error ? error.message : String(error);
  const location = error instanceof IpcError ? error.location : null;
  const hint = error instanceof IpcError ? error.hint : null;
  return (
    <section className="error-panel" role="alert">
      <h2>{title}</h2>
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
