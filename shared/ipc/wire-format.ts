import type { Envelope } from './contract.js';

/**
 * The contract as JSON lines, one message per line: what `apkovl worker` reads and writes on
 * stdin/stdout, and what every `apkovl <command> --json` prints (events, then one response).
 * The types and the encoder, without the schema library, so that a command starts fast; the
 * schemas that check incoming lines are in wire.ts.
 */
export interface WireRequest {
  type: 'request';
  id: number | string;
  command: string;
  input: unknown;
}

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

export function encodeWire(message: WireMessage): string {
  return `${JSON.stringify(message)}\n`;
}
