// The XML parser every repodata reader uses: saxes without namespace processing (createrepo_c
// always writes the `rpm:` prefix; elements are matched by local name), positions on, and the
// file named in every error (`<url>:12:4: unclosed tag: package`).
import { SaxesParser } from 'saxes';
import { RepodataFormatError } from './errors.js';

export type XmlParser = SaxesParser<{ xmlns: false }>;

export function createXmlParser(file: string): XmlParser {
  return new SaxesParser({ xmlns: false, fileName: file });
}

/** `rpm:entry` -> `entry`. */
export function localName(qualified: string): string {
  const colon = qualified.indexOf(':');
  return colon < 0 ? qualified : qualified.slice(colon + 1);
}

/** A saxes error (it says where) as a format error. Other errors pass through. */
export function asFormatError(err: unknown): unknown {
  if (err instanceof Error && err.constructor === Error && /:\d+:\d+: /.test(err.message)) return new RepodataFormatError(`${err.message}: not well-formed XML`);
  return err;
}

/** A non-negative decimal integer attribute or text, or a format error naming it. */
export function parseCount(value: string, what: string, file: string): number {
  if (!/^\d{1,15}$/.test(value.trim())) throw new RepodataFormatError(`${file}: ${what} is '${value}', not a non-negative integer`);
  return Number(value.trim());
}

/**
 * A location taken from metadata, checked to stay inside the repository: relative, no `..`, no
 * scheme, no backslash. Locations become URLs and local file names.
 */
export function checkRelativeHref(href: string | undefined, what: string, file: string): string {
  if (href === undefined || href === '') throw new RepodataFormatError(`${file}: ${what} has no location href`);
  const bad =
    href.startsWith('/') || href.includes('\\') || /^[a-zA-Z][a-zA-Z0-9+.-]*:/.test(href) || href.split('/').some((part) => part === '..' || part === '') ||
    /[\u0000-\u001f\u007f?#]/.test(href);
  if (bad) throw new RepodataFormatError(`${file}: ${what} has location '${href}', which leaves the repository or is not a plain relative path`);
  return href;
}
