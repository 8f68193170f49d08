/** The label of an erased stick, in a module of its own so the CLI's help loads nothing else. */
export const DEFAULT_ERASE_LABEL = 'USB';
