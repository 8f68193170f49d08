/**
 * A few bytes of 16-bit x86 code that print a message through the BIOS and halt. Placed in the
 * MBR and in the FAT boot sector so that a PC which tries to boot the card in legacy BIOS mode
 * says why it cannot, instead of hanging silently. Both sectors are loaded at 0000:7C00.
 *
 * The code is placed at `offset` (0 for the MBR, 0x5A after the FAT32 BPB) and the message
 * right after it; the result must fit before the MBR's partition table at byte 440.
 */
export function bootMessageCode(message: string, offset = 0): Buffer {
  const code: number[] = [];
  const base = 0x7c00 + offset;
  // xor ax,ax ; mov ds,ax ; cld
  code.push(0x31, 0xc0, 0x8e, 0xd8, 0xfc);
  // mov si, imm16 (patched below)
  const siAt = code.length + 1;
  code.push(0xbe, 0x00, 0x00);
  // loop: lodsb ; test al,al ; jz halt(+9)
  code.push(0xac, 0x84, 0xc0, 0x74, 0x09);
  // mov ah,0x0e ; mov bx,7 ; int 0x10 ; jmp loop(-14)
  code.push(0xb4, 0x0e, 0xbb, 0x07, 0x00, 0xcd, 0x10, 0xeb, 0xf2);
  // halt: cli ; hlt ; jmp halt(-4)
  code.push(0xfa, 0xf4, 0xeb, 0xfc);
  const text = Buffer.from(`\r\n${message}\r\n\0`, 'latin1');
  const messageAddress = base + code.length;
  code[siAt] = messageAddress & 0xff;
  code[siAt + 1] = (messageAddress >> 8) & 0xff;
  return Buffer.concat([Buffer.from(code), text]);
}
