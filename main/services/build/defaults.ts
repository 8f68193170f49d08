/** Defaults of a card build, in a module of their own so the CLI's help loads nothing else. */
export const DEFAULT_IMAGE_PARTITION_BYTES = 512 << 20;
export const DEFAULT_VOLUME_LABEL = 'ALPINE';
