import { z } from 'zod';
import { envelopeSchema, type Envelope } from './contract.js';

/**
 * The contract as JSON lines, one message per line: what `apkovl worker` reads and writes on
 * stdin/stdout, and what every `apkovl <command> --json` prints (events, then one response).
 */
export const wireRequestSchema = z.object({
  type: z.literal('request'),
  id: z.union([z.number().int(), z.string().min(1)]),
  command: z.string().min(1),
  input: z.unknown(),
});
export type WireRequest = z.infer<typeof wireRequestSchema>;

export interface WireEvent {
  type: 'event';
  name: string;
  payload: unknown;
}

export interface WireResponse {
  type: 'response';
  /** The request's id; null for a command line's one response. */
  id: number | string | null;
  command: string;
  envelope: Envelope;
}

export type WireMessage = WireRequest | WireEvent | WireResponse;

export const wireMessageSchema = z.discriminatedUnion('type', [
  wireRequestSchema,
  z.object({ type: z.literal('event'), name: z.string(), payload: z.unknown() }),
  z.object({
    type: z.literal('response'),
    id: z.union([z.number().int(), z.string(), z.null()]),
    command: z.string(),
    envelope: envelopeSchema,
  }),
]);

export function encodeWire(message: WireMessage): string {
  return `${JSON.stringify(message)}\n`;
}
