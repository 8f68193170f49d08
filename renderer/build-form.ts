import type { BuildImageRequest } from '../shared/model/build-image.js';
import { parseSize } from '../shared/model/size.js';

export interface BuildFormState {
  bootMedia: string;
  overlay: string;
  output: string;
  size: string;
}

export const emptyBuildForm: BuildFormState = { bootMedia: '', overlay: '', output: '', size: '512MiB' };

export type FormErrors = Partial<Record<keyof BuildFormState, string>>;

/** The form as a request, or the message for each field that is not right yet. */
export function toBuildRequest(form: BuildFormState): { request: BuildImageRequest } | { errors: FormErrors } {
  const errors: FormErrors = {};
  if (form.bootMedia.trim() === '') errors.bootMedia = 'Choose the Alpine boot media (alpine-rpi-*.tar.gz).';
  if (form.overlay.trim() === '') errors.overlay = 'Choose the apkovl to put on the card.';
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
      bootMedia: form.bootMedia.trim(),
      overlay: form.overlay.trim(),
      output: form.output.trim(),
      ...(partitionBytes !== undefined ? { partitionBytes } : {}),
    },
  };
}
