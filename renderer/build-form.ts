import type { BuildImageRequest } from '../shared/model/build-image.js';
import { parseSize } from '../shared/model/size.js';

export interface BuildFormState {
  bootMedia: string;
  machine: string;
  secrets: string;
  output: string;
  size: string;
}

export const emptyBuildForm: BuildFormState = { bootMedia: '', machine: '', secrets: '', output: '', size: '512MiB' };

export const isDefinition = (file: string): boolean => /\.ya?ml$/i.test(file.trim());

export type FormErrors = Partial<Record<keyof BuildFormState, string>>;

/** The form as a request, or the message for each field that is not right yet. */
export function toBuildRequest(form: BuildFormState): { request: BuildImageRequest } | { errors: FormErrors } {
  const errors: FormErrors = {};
  if (form.bootMedia.trim() === '' && !isDefinition(form.machine)) {
    errors.bootMedia =
      'Choose the Alpine boot media (alpine-rpi-*.tar.gz or an x86_64 ISO), or use a machine definition.';
  }
  if (form.machine.trim() === '') errors.machine = 'Choose a machine definition (.yml) or an apkovl (.apkovl.tar.gz).';
  if (form.output.trim() === '') errors.output = 'Choose where to save the image.';
  let partitionBytes: number | undefined;
  try {
    partitionBytes = parseSize(form.size, 'size');
  } catch {
    errors.size = 'Write a size such as 512MiB or 2GiB.';
  }
  if (Object.keys(errors).length > 0) return { errors };
  return {
    request: {
      ...(form.bootMedia.trim() !== '' ? { bootMedia: form.bootMedia.trim() } : {}),
      machine: form.machine.trim(),
      ...(isDefinition(form.machine) && form.secrets.trim() !== '' ? { secrets: form.secrets.trim() } : {}),
      output: form.output.trim(),
      ...(partitionBytes !== undefined ? { partitionBytes } : {}),
    },
  };
}
