import type { BlockTarget } from '../../main/services/flash/block-target.js';

/**
 * Test doubles of fake-capacity cards at the target level (this kernel has no device-mapper):
 * a target that claims `claimedSize` bytes over a real, smaller one, and does what such a
 * card's controller does past the real size.
 */

type Behaviour = 'wrap' | 'drop';

/** Split [position, position + length) into pieces that each stay within one period of `real` bytes. */
function pieces(position: number, length: number, real: number): { offset: number; at: number; length: number }[] {
  const parts: { offset: number; at: number; length: number }[] = [];
  for (let done = 0; done < length;) {
    const at = (position + done) % real;
    const count = Math.min(length - done, real - at);
    parts.push({ offset: done, at, length: count });
    done += count;
  }
  return parts;
}

function fake(inner: BlockTarget, claimedSize: number, behaviour: Behaviour): BlockTarget {
  const real = inner.size;
  const beyond = (position: number): boolean => behaviour === 'drop' && position >= real;
  return {
    description: `${inner.description} (claiming ${claimedSize} bytes)`,
    size: claimedSize,
    allocate: (size) => inner.allocate(size),
    async write(buffer, position) {
      for (const part of pieces(position, buffer.length, real)) {
        if (beyond(position + part.offset)) continue;
        await inner.write(buffer.subarray(part.offset, part.offset + part.length), part.at);
      }
    },
    async zero(position, length) {
      for (const part of pieces(position, length, real)) {
        if (!beyond(position + part.offset)) await inner.zero(part.at, part.length);
      }
    },
    async read(buffer, position) {
      const length = Math.max(0, Math.min(buffer.length, claimedSize - position));
      for (const part of pieces(position, length, real)) {
        const slice = buffer.subarray(part.offset, part.offset + part.length);
        if (beyond(position + part.offset)) slice.fill(0);
        else if ((await inner.read(slice, part.at)) !== part.length) throw new Error('short read from the real medium');
      }
      return length;
    },
    flush: () => inner.flush(),
    commit: () => inner.commit(),
    abort: () => inner.abort(),
  };
}

/** Past the real size, byte X lands at X modulo the real size: the flash "module" wraps around. */
export function wrappingTarget(inner: BlockTarget, claimedSize: number): BlockTarget {
  return fake(inner, claimedSize, 'wrap');
}

/** Past the real size, writes are dropped and reads return zeros. */
export function droppingTarget(inner: BlockTarget, claimedSize: number): BlockTarget {
  return fake(inner, claimedSize, 'drop');
}
