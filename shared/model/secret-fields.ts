/**
 * The fields of a machine definition where `${secret:name}` may be used: those whose value never
 * reaches the card as written. A Wi-Fi passphrase is stored as the PSK derived from it, and
 * passwords as SHA-512-crypt hashes. Anywhere else (a host name, a file's content, a run-once
 * script) the value would be stored on the card in clear text, and shown in messages.
 */

/** A field path; `[]` stands for any index of a list. */
const SECRET_FIELDS: readonly (readonly string[])[] = [
  ['network', 'interfaces', '[]', 'wifi', 'networks', '[]', 'psk'],
  ['users', '[]', 'password'],
  ['root', 'password'],
];

/** The fields, as a person reads them in the README and in messages. */
export const secretFieldNames = SECRET_FIELDS.map((field) =>
  field.map((part, index) => (part === '[]' ? part : index === 0 ? part : `.${part}`)).join(''),
);

/** Whether a value at `path` (from the definition's root) may refer to secrets. */
export function isSecretField(path: readonly PropertyKey[]): boolean {
  return SECRET_FIELDS.some(
    (field) =>
      field.length === path.length &&
      field.every((part, index) => (part === '[]' ? typeof path[index] === 'number' : part === path[index])),
  );
}

/** The message for a secret used anywhere else. */
export const misplacedSecretMessage = `secrets may only be used in ${secretFieldNames.slice(0, -1).join(', ')} and ${secretFieldNames.at(-1) ?? ''}; this field is stored in clear text on the card, so write the value itself here`;
