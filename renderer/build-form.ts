import type { BuildRequestInput } from '../shared/model/requests.js';
import { parseSize } from '../shared/model/size.js';

export interface BuildFormState {
  bootMedia: string;
  machine: string;
  /** What the machine file is, by its content (asked of the main side when it changes). */
  machineKind: 'definition' | 'apkovl' | 'unknown' | null;
  secrets: string;
  output: string;
  /** Empty: the definition's boot.partition_size, else 512 MiB. */
  size: string;
}

export const emptyBuildForm: BuildFormState = {
  bootMedia: '',
  machine: '',
  machineKind: null,
  secrets: '',
  output: '',
  size: '',
};

export type FormErrors = Partial<Record<keyof BuildFormState, string>>;

/** The form as the one build request every front end sends, or the message for each field that is not right yet. */
export function toBuildRequest(form: BuildFormState): { request: BuildRequestInput } | { errors: FormErrors } {
  const errors: FormErrors = {};
  const isDefinition = form.machineKind === 'definition';
  if (form.machine.trim() === '') errors.machine = 'Choose a machine definition (.yml) or an apkovl (.apkovl.tar.gz).';
  else if (form.machineKind !== 'definition' && form.machineKind !== 'apkovl')
    errors.machine = 'This file cannot be read, or is neither a machine definition (YAML) nor an apkovl (gzip).';
  if (form.bootMedia.trim() === '' && form.machineKind === 'apkovl') {
    errors.bootMedia =
      'Choose the Alpine boot media (alpine-rpi-*.tar.gz or an x86_64 ISO): an apkovl names no release.';
  }
  if (form.output.trim() === '') errors.output = 'Choose where to save the image.';
  let partitionBytes: number | undefined;
  if (form.size.trim() !== '') {
    try {
      partitionBytes = parseSize(form.size, 'size');
    } catch {
      errors.size = 'Write a size such as 512MiB or 2GiB, or leave it empty.';
    }
  }
  if (Object.keys(errors).length > 0) return { errors };
  const machine = form.machine.trim();
  return {
    request: {
      source: isDefinition
        ? {
            kind: 'definition',
            file: machine,
            ...(form.secrets.trim() !== '' ? { secretsFile: form.secrets.trim() } : {}),
          }
        : { kind: 'apkovl', file: machine },
      media: form.bootMedia.trim() !== '' ? { kind: 'file', path: form.bootMedia.trim() } : { kind: 'fetch' },
      destination: { kind: 'image', path: form.output.trim() },
      card: partitionBytes !== undefined ? { partitionBytes } : {},
      verify: false,
    },
  };
}
