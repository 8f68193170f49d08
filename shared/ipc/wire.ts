import { z } from 'zod';
import { envelopeSchema } from './contract.js';

export { encodeWire, type WireEvent, type WireMessage, type WireRequest, type WireResponse } from './wire-format.js';

/** The schemas of wire messages (wire-format.ts has their types and the encoder). */
export const wireRequestSchema = z.object({
  type: z.literal('request'),
  id: z.union([z.number().int(), z.string().min(1)]),
  command: z.string().min(1),
  input: z.unknown(),
});

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
