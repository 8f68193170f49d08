import { displayText } from '../../shared/rules/display.js';
import type { CommandContext } from './context.js';
import type { Output } from './progress-output.js';

/**
 * Notes for a person while a command waits (retries, another process's download): with --json a
 * JSON line of their own, `{"type":"note","message":...}`, on stdout; otherwise a `note: ...`
 * line on stderr, after ending any progress bar, terminal or not.
 */
export function noteWriter(context: CommandContext, json: boolean, output: Output): (text: string) => void {
  return (text) => {
    output.settle();
    if (json) context.stdout.write(`${JSON.stringify({ type: 'note', message: text })}\n`);
    else context.stderr.write(`note: ${displayText(text)}\n`);
  };
}
