import { existsSync } from 'node:fs';
import { readFile, stat, writeFile } from 'node:fs/promises';
import path from 'node:path';
import { Command } from 'commander';
import { AppError } from '../../../shared/errors.js';
import type { LocatedIssue } from '../../../shared/model/machine-yaml.js';
import type { LintFinding } from '../../../shared/rules/apkovl-lint.js';
import { displayText } from '../../../shared/rules/display.js';
import { issueLocation } from '../../services/machine/definition-error.js';
import { writeFileAtomically } from '../../services/machine/private-file.js';
import { templates } from '../../services/machine/templates.js';
import { formatBytes } from '../../../shared/model/size.js';
import type { CommandContext } from '../context.js';
import { collect } from '../flags.js';

interface ValidateFlags {
  secrets?: string;
  packages?: boolean;
  apkKey?: string[];
  offline?: boolean;
  cacheDir?: string;
  json?: boolean;
}

/** What a person should know about a secrets file `init` kept: names it lacks, a loose mode. */
async function keptSecretsNotes(file: string, templateSecrets: string): Promise<string[]> {
  const { parseSecrets } = await import('../../../shared/model/machine-yaml.js');
  const notes: string[] = [];
  const name = displayText(file);
  const kept = parseSecrets(await readFile(file, 'utf8'));
  if (kept.issues.length > 0)
    notes.push(`${name} cannot be read as a secrets file: apkovl validate --secrets shows why`);
  else {
    const missing = Object.keys(parseSecrets(templateSecrets).secrets).filter((secret) => !(secret in kept.secrets));
    if (missing.length > 0)
      notes.push(
        `${name} has no ${missing.join(', ')}, which the new definition refers to: add ${missing.length === 1 ? 'it' : 'them'} before building`,
      );
  }
  const mode = (await stat(file)).mode & 0o777;
  if ((mode & 0o077) !== 0) notes.push(`${name} is readable by others (mode 0${mode.toString(8)}): chmod 600 ${name}`);
  return notes;
}

function printIssues(context: CommandContext, file: string, issues: LocatedIssue[]): void {
  for (const issue of issues)
    context.stderr.write(`${issue.severity}: ${issueLocation(file, issue)}: ${issue.message}\n`);
}

/** Findings name members and quote contents of the apkovl: untrusted text, escaped for the terminal. */
function printFindings(context: CommandContext, findings: LintFinding[]): void {
  for (const found of findings) {
    const severity = found.unsafe ? `${found.severity} (unsafe: build refuses it)` : found.severity;
    const member = found.member ? `${displayText(found.member)}: ` : '';
    context.stdout.write(
      `${severity}: [${found.rule}] ${member}${displayText(found.message)}\n  fix: ${displayText(found.fix)}\n`,
    );
  }
}

const TYPE_LETTERS: Record<string, string> = {
  directory: 'd',
  symlink: 'l',
  link: 'h',
  'character-device': 'c',
  'block-device': 'b',
  fifo: 'p',
};

function modeString(type: string, mode: number): string {
  const kind = TYPE_LETTERS[type] ?? '-';
  const bits = 'rwxrwxrwx'.split('').map((letter, index) => (mode & (1 << (8 - index)) ? letter : '-'));
  return kind + bits.join('');
}

export function overlayCommand(context: CommandContext): Command {
  return new Command('overlay')
    .summary('generate <hostname>.apkovl.tar.gz from a machine definition')
    .description(
      'Generate the apkovl of a machine definition, deterministically, and check it with the lint rules of apkovl inspect.',
    )
    .argument('<definition>', 'machine definition (YAML)')
    .option('--secrets <file>', 'secrets file for ${secret:name} references')
    .requiredOption('-o, --output <dir>', 'folder to write <hostname>.apkovl.tar.gz into')
    .option('--json', 'print the result as JSON')
    .addHelpText(
      'after',
      '\nExample:\n  apkovl overlay kiosk.yml --secrets kiosk.secrets.yml -o out/\n\nSOURCE_DATE_EPOCH, when set, is the mtime of every member (default 0).',
    )
    .action(async (definition: string, flags: { secrets?: string; output: string; json?: boolean }) => {
      const result = await context.services.writeOverlay({
        definition,
        outputDir: flags.output,
        ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}),
      });
      printIssues(context, definition, result.definitionWarnings);
      if (flags.json) {
        context.respond('overlay.write', {
          path: result.path,
          sha256: result.sha256,
          members: result.generated.entries.length,
          world: result.generated.world,
          networkPackages: result.generated.networkPackages,
          card: result.generated.card,
          warnings: result.generated.warnings,
        });
        return;
      }
      context.stdout.write(
        `Wrote ${result.path} (${result.data.length} bytes, ${result.generated.entries.length} members, sha256 ${result.sha256})\n`,
      );
      context.stdout.write(`  packages   ${result.generated.world.join(' ')}\n`);
      for (const warning of result.generated.warnings) context.stdout.write(`  note       ${warning}\n`);
    });
}

export function inspectCommand(context: CommandContext): Command {
  return new Command('inspect')
    .summary('list any apkovl and check it with the lint rules')
    .addHelpText(
      'after',
      '\nExamples:\n  apkovl inspect kiosk-hall.apkovl.tar.gz\n  apkovl inspect myhost.apkovl.tar.gz --json     (members and findings as JSON)',
    )
    .description(
      "List the members of an apkovl (generated or hand-made) and check what Alpine's initramfs needs: names, modes, owners, boot services, world, line endings, ...",
    )
    .argument('<apkovl>', 'an *.apkovl.tar.gz file')
    .option('--json', 'print members and findings as JSON')
    .action(async (file: string, flags: { json?: boolean }) => {
      const result = await context.services.inspectApkovl(file);
      const errors = result.findings.filter((found) => found.severity === 'error').length;
      if (flags.json) {
        const members = result.members.map(({ content, ...member }) => ({
          ...member,
          mode: `0${(member.mode & 0o7777).toString(8)}`,
          hasContent: content !== null,
        }));
        context.respond('apkovl.inspect', { file, members, findings: result.findings });
      } else {
        // Names, link targets and owners come from the archive: escaped, one line per member.
        for (const member of result.members) {
          const owner = displayText(`${member.uname || member.uid}/${member.gname || member.gid}`).padEnd(13);
          const link = member.linkname ? ` -> ${displayText(member.linkname)}` : '';
          context.stdout.write(
            `${modeString(member.type, member.mode)} ${owner} ${String(member.size).padStart(8)} ${displayText(member.name)}${link}\n`,
          );
        }
        context.stdout.write(
          `\n${result.members.length} members; ${errors} error(s), ${result.findings.length - errors} warning(s)\n`,
        );
        printFindings(context, result.findings);
      }
      if (errors > 0) context.exitCode = 1;
    });
}

export function validateCommand(context: CommandContext): Command {
  return new Command('validate')
    .summary('check a machine definition and the overlay it makes, without writing anything')
    .addHelpText('after', '\nExample:\n  apkovl validate kiosk.yml --secrets kiosk.secrets.yml')
    .argument('<definition>', 'machine definition (YAML)')
    .option('--secrets <file>', 'secrets file for ${secret:name} references')
    .option(
      '--packages',
      "with alpine.offline: resolve the machine's packages and show their count and size (needs the mirror, or --offline)",
    )
    .option(
      '--apk-key <file>',
      'with --packages: also trust this apk signing key (RSA public key, PEM) for package indexes (repeat for more)',
      collect,
    )
    .option('--offline', 'with --packages: use only the indexes in the download cache')
    .option('--cache-dir <dir>', 'download cache (default: the user cache folder, or APKOVL_CACHE_DIR)')
    .option('--json', 'print the issues as JSON')
    .action(async (definition: string, flags: ValidateFlags) => {
      const result = await context.services.validateDefinition({
        definition,
        ...(flags.secrets !== undefined ? { secretsFile: flags.secrets } : {}),
        ...(flags.packages === true
          ? {
              packages: {
                apkKeys: flags.apkKey ?? [],
                offline: flags.offline === true,
                ...(flags.cacheDir !== undefined ? { cacheDir: flags.cacheDir } : {}),
              },
            }
          : {}),
        signal: context.signal,
      });
      if (flags.json) {
        context.respond('definition.validate', {
          ok: result.ok,
          file: result.file,
          issues: result.issues,
          warnings: result.overlay?.generated.warnings ?? [],
          packages: result.packages ?? null,
        });
      } else {
        // The issues are in result.file: the definition, or the secrets file when that is what is wrong.
        printIssues(context, result.file, result.issues);
        if (result.ok && result.overlay) {
          context.stdout.write(
            `${definition}: valid; ${result.overlay.fileName} would have ${result.overlay.generated.entries.length} members\n`,
          );
          for (const warning of result.overlay.generated.warnings) context.stdout.write(`  note: ${warning}\n`);
          const counted = result.packages ?? null;
          if (counted !== null) {
            context.stdout.write(
              `  packages: ${counted.resolved} (${formatBytes(counted.bytes)}) and ${counted.indexes} signed indexes (${formatBytes(counted.indexBytes)}); a build copies those not on the boot media into the card's apk cache\n`,
            );
          } else if (result.offline === true) {
            context.stdout.write(
              "  note: alpine.offline: --packages resolves the machine's packages and shows their count and size (it needs the mirror, or --offline with the download cache)\n",
            );
          }
        }
      }
      if (!result.ok) context.exitCode = 1;
    });
}

export function schemaCommand(context: CommandContext): Command {
  return new Command('schema')
    .summary('print the JSON Schema of machine definitions (for editors)')
    .addHelpText(
      'after',
      '\nExample (VS Code with the YAML extension):\n  apkovl schema > machine.schema.json\n  # first line of machine.yml:  # yaml-language-server: $schema=machine.schema.json',
    )
    .action(async () => {
      const { machineJsonSchema } = await import('../../../shared/model/machine.js');
      context.stdout.write(`${JSON.stringify(machineJsonSchema(), null, 2)}\n`);
    });
}

export function initCommand(context: CommandContext): Command {
  const names = templates.map((template) => template.name);
  return new Command('init')
    .summary('write a commented starting definition from a template')
    .description(
      `Templates:\n${templates.map((template) => `  ${template.name.padEnd(14)} ${template.description}`).join('\n')}`,
    )
    .requiredOption('-t, --template <name>', `one of ${names.join(', ')}`)
    .option(
      '-o, --output <file>',
      'file to write (default: print to stdout); a secrets file is written beside it when needed',
    )
    .option('--force', 'overwrite an existing definition (an existing secrets file is kept)')
    .option('--force-secrets', 'overwrite an existing secrets file too (the secrets in it are lost)')
    .addHelpText(
      'after',
      '\nExample:\n  apkovl init --template rpi-kiosk -o kiosk.yml     (also writes kiosk.secrets.yml, mode 0600)',
    )
    .action(async (flags: { template: string; output?: string; force?: boolean; forceSecrets?: boolean }) => {
      const template = templates.find((candidate) => candidate.name === flags.template);
      if (template === undefined) {
        throw new AppError('usage', `there is no template "${displayText(flags.template)}"`, {
          location: '--template',
          hint: `choose one of ${names.join(', ')}`,
        });
      }
      if (flags.output === undefined) {
        context.stdout.write(template.definition);
        if (template.secrets !== null)
          context.stderr.write(
            'note: this template refers to secrets; with -o FILE a secrets file is written beside it\n',
          );
        return;
      }
      const secretsFile = flags.output.replace(/(\.ya?ml)?$/, '.secrets.yml');
      const definition =
        template.secrets === null
          ? template.definition
          : template.definition
              .replace(/kiosk\.secrets\.yml/g, path.basename(secretsFile))
              .replace(/kiosk\.yml/g, path.basename(flags.output));
      if (existsSync(flags.output) && flags.force !== true)
        throw new AppError('invalid-input', `${displayText(flags.output)} exists`, {
          location: flags.output,
          hint: 'choose another name, or add --force to overwrite it',
        });
      // A secrets file is never overwritten by --force alone: its secrets exist nowhere else.
      const keepSecrets = template.secrets !== null && existsSync(secretsFile) && flags.forceSecrets !== true;
      if (keepSecrets && flags.force !== true)
        throw new AppError('invalid-input', `${displayText(secretsFile)} exists`, {
          location: secretsFile,
          hint: 'choose another name; or add --force to write the definition and keep this secrets file, or --force-secrets to replace it',
        });
      const output = flags.output;
      await writeFile(output, definition).catch((error: unknown) => {
        const code = (error as NodeJS.ErrnoException).code;
        throw new AppError(
          code === 'ENOENT' || code === 'EACCES' || code === 'EISDIR' || code === 'ENOTDIR' || code === 'EROFS'
            ? 'invalid-input'
            : 'io',
          code === 'ENOENT'
            ? `cannot write ${displayText(output)}: its folder does not exist`
            : `cannot write ${displayText(output)}: ${(error as Error).message}`,
          {
            location: output,
            hint:
              code === 'ENOENT'
                ? `the folder ${displayText(path.dirname(output))} does not exist: create it first (mkdir -p)`
                : 'choose a file in a folder you may write',
            cause: error,
          },
        );
      });
      context.stdout.write(`Wrote ${flags.output} (template ${template.name})\n`);
      if (template.secrets === null) return;
      if (keepSecrets) {
        context.stdout.write(`Kept ${secretsFile}: an existing secrets file is replaced only with --force-secrets\n`);
        for (const note of await keptSecretsNotes(secretsFile, template.secrets))
          context.stderr.write(`note: ${note}\n`);
        return;
      }
      await writeFileAtomically(secretsFile, template.secrets, { private: true });
      context.stdout.write(`Wrote ${secretsFile} (mode 0600): keep it out of git, pass it with --secrets\n`);
    });
}
