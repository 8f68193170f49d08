/** Defaults of a card build, in a module of their own so the CLI's help loads nothing else. */
export const DEFAULT_IMAGE_PARTITION_BYTES = 512 << 20;
export const DEFAULT_VOLUME_LABEL = 'ALPINE';
/** The FAT32 partition of a BIOS+UEFI stick image (the EFI loader, the apkovl, room for lbu and the apk cache). */
export const DEFAULT_HYBRID_FAT_BYTES = 256 << 20;
