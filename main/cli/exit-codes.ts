/** The CLI's exit codes. */
export const EXIT_USER_ERROR = 1;
export const EXIT_USAGE = 2;
export const EXIT_BUG = 70;
export const EXIT_CANCELLED = 130;
