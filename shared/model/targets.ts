/** The machines a card can boot (kept apart from the schema so that they load without zod). */
export const boards = ['rpi', 'x86_64-uefi'] as const;
export const architectures = ['aarch64', 'armv7', 'armhf', 'x86_64'] as const;
export type Board = (typeof boards)[number];
