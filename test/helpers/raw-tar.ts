import zlib from 'node:zlib';

/**
 * Hand-made tar headers, and small gzip files that inflate to huge tar streams of zeros ("gzip bombs"), made in
 * milliseconds: deflate data that ends on a byte boundary (a full flush) can be concatenated,
 * so one compressed run of 8 MiB of zeros is repeated instead of compressing gigabytes.
 */

const RUN = 8 << 20;

export interface HeaderFields {
  /** Tar type flag: '0' file, '1' hard link, '2' symbolic link, '3' character device, '5' folder, ... */
  type?: string;
  linkname?: string;
  mode?: number;
  uname?: string;
  gname?: string;
}

/** A ustar header block (a regular file unless `fields.type` says otherwise), with its checksum. */
export function tarHeader(name: string, size: number, fields: HeaderFields | string = {}): Buffer {
  const {
    type = '0',
    linkname = '',
    mode = 0o644,
    uname = '',
    gname = '',
  } = typeof fields === 'string' ? { type: fields } : fields;
  const header = Buffer.alloc(512);
  header.write(name, 0, 100, 'utf8');
  header.write(`${mode.toString(8).padStart(7, '0')}\0`, 100);
  header.write('0000000\0', 108);
  header.write('0000000\0', 116);
  header.write(`${size.toString(8).padStart(11, '0')}\0`, 124);
  header.write('00000000000\0', 136);
  header.write(type, 156);
  header.write(linkname, 157, 100, 'utf8');
  header.write('ustar\0', 257);
  header.write('00', 263);
  header.write(uname, 265, 32, 'utf8');
  header.write(gname, 297, 32, 'utf8');
  header.fill(0x20, 148, 156);
  let sum = 0;
  for (const byte of header) sum += byte;
  header.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148);
  return header;
}

/** A tar member with content: header and data padded to 512 bytes. */
export function tarFile(name: string, content: string | Buffer): Buffer {
  const data = typeof content === 'string' ? Buffer.from(content) : content;
  return Buffer.concat([tarHeader(name, data.length), data, Buffer.alloc((512 - (data.length % 512)) % 512)]);
}

/**
 * gzip of `prefix` followed by `zeros` zero bytes (a multiple of 8 MiB). `members: 'one'` makes
 * a single gzip member (as gzip itself would), `'many'` a gzip member per 8 MiB run (valid
 * gzip too, as `cat a.gz b.gz` makes; its checksums cost nothing to compute).
 */
export function zeroBomb(prefix: Buffer, zeros: number, members: 'one' | 'many' = 'one'): Buffer {
  if (zeros % RUN !== 0) throw new Error(`zeros must be a multiple of ${RUN}`);
  const runs = zeros / RUN;
  const zeroRun = Buffer.alloc(RUN);
  const header = Buffer.from([0x1f, 0x8b, 8, 0, 0, 0, 0, 0, 2, 0xff]);
  const trailer = (crc: number, length: number) => {
    const bytes = Buffer.alloc(8);
    bytes.writeUInt32LE(crc >>> 0, 0);
    bytes.writeUInt32LE(length % 2 ** 32, 4);
    return bytes;
  };
  if (members === 'many') {
    const run = zlib.gzipSync(zeroRun, { level: 9 });
    return Buffer.concat([zlib.gzipSync(prefix), ...Array.from({ length: runs }, () => run)]);
  }
  const flush = { level: 9, finishFlush: zlib.constants.Z_FULL_FLUSH };
  const raw = zlib.deflateRawSync(zeroRun, flush);
  let crc = zlib.crc32(prefix);
  for (let run = 0; run < runs; run += 1) crc = zlib.crc32(zeroRun, crc);
  return Buffer.concat([
    header,
    zlib.deflateRawSync(prefix, flush),
    ...Array.from({ length: runs }, () => raw),
    zlib.deflateRawSync(Buffer.alloc(0)),
    trailer(crc, prefix.length + zeros),
  ]);
}

/** An apkovl-shaped bomb: etc/hostname, then one file `etc/zero` of zeros (and the end blocks). */
export function overlayBomb(zeros: number, members: 'one' | 'many' = 'one'): Buffer {
  const prefix = Buffer.concat([
    tarHeader('etc/', 0, '5'),
    tarFile('etc/hostname', 'bomb\n'),
    tarHeader('etc/zero', zeros - 1024),
  ]);
  return zeroBomb(prefix, zeros, members);
}
