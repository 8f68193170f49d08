/**
 * Untrusted text (member names from boot media or an apkovl, file names, a host name read from
 * a card) shown to a person. Control characters could retitle or clear a terminal, or forge a
 * line of output ("Built ..."); bidirectional overrides could make a name read backwards. Each
 * is shown as a visible escape instead: `\n`, `\t`, `\x1b`, `\u202e`.
 */

const CONTROLS = '\\u0000-\\u001f\\u007f-\\u009f\\u061c\\u200e\\u200f\\u2028\\u2029\\u202a-\\u202e\\u2066-\\u2069';
const EVERY_CONTROL = new RegExp(`[${CONTROLS}]`, 'g');
/** The same set without tab and line feed, which a program's own messages use. */
const CONTROLS_BUT_LAYOUT = new RegExp(`(?![\\t\\n])[${CONTROLS}]`, 'g');

const NAMED: Record<string, string> = { '\n': '\\n', '\r': '\\r', '\t': '\\t' };

function escapeOne(character: string): string {
  const named = NAMED[character];
  if (named !== undefined) return named;
  const code = character.charCodeAt(0);
  return code <= 0xff ? `\\x${code.toString(16).padStart(2, '0')}` : `\\u${code.toString(16).padStart(4, '0')}`;
}

/** One untrusted string, safe to embed in a message: every control character is escaped. */
export function displayText(text: string): string {
  return text.replace(EVERY_CONTROL, escapeOne);
}

/**
 * A whole message for a terminal: the line breaks and tabs the program put there stay, every
 * other control character is escaped. The last line of defence: untrusted parts must already
 * have gone through `displayText` where they were embedded, so that a newline in a name cannot
 * start a line of its own.
 */
export function displayMessage(text: string): string {
  return text.replace(CONTROLS_BUT_LAYOUT, escapeOne);
}
