import {
  contract,
  envelopeSchema,
  type CommandInput,
  type CommandName,
  type CommandOutput,
  type EventName,
  type EventPayload,
  type IpcErrorCode,
  type Transport,
} from './contract.js';

/** A failed command, as the renderer sees it. */
export class IpcError extends Error {
  constructor(
    readonly code: IpcErrorCode,
    message: string,
    readonly location: string | null,
    readonly hint: string | null,
  ) {
    super(message);
    this.name = 'IpcError';
  }
}

/** Typed access to the main process over any transport. */
export function createClient(transport: Transport) {
  return {
    async invoke<C extends CommandName>(command: C, input: CommandInput<C>): Promise<CommandOutput<C>> {
      const envelope = envelopeSchema.parse(await transport.invoke(command, input));
      if (!envelope.ok) {
        const { code, message, location, hint } = envelope.error;
        throw new IpcError(code, message, location, hint);
      }
      return contract.commands[command].output.parse(envelope.value) as CommandOutput<C>;
    },
    on<E extends EventName>(name: E, listener: (payload: EventPayload<E>) => void): () => void {
      return transport.subscribe((event) => {
        if (event.name !== name) return;
        const parsed = contract.events[name].safeParse(event.payload);
        if (parsed.success) listener(parsed.data as EventPayload<E>);
      });
    },
  };
}
export type Client = ReturnType<typeof createClient>;
