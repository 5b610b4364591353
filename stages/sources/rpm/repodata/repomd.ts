// repomd.xml: the repository's table of contents, and its root of trust. Its detached OpenPGP
// signature (repomd.xml.asc) is checked before a byte of it is parsed; every other metadata file
// is then pinned by the checksums it lists. Only the `<data>` entries are read (revision too):
// tags, content hashes of zchunk files and the like are ignored.
import { verifySignature, type PgpKeyring, type PgpVerified } from '../../../../formats/openpgp/index.js';
import type { RpmChecksum } from '../model.js';
import { RepodataFormatError } from './errors.js';
import type { ExpectedFile } from './verified-file.js';
import { asFormatError, checkRelativeHref, createXmlParser, localName, parseCount } from './xml.js';

/** One `<data type=...>` entry. */
export interface RepomdEntry extends ExpectedFile {
  /** `primary`, `filelists`, `other`, `group_gz`, `primary_zck`... */
  type: string;
  /** `repodata/<hash>-primary.xml.gz`, relative to the repository root. */
  location: string;
  timestamp?: number;
}

export interface Repomd {
  /** `<revision>` ('' when absent). */
  revision: string;
  entries: RepomdEntry[];
}

/** The most a repomd.xml may weigh (real ones: a few KiB). */
export const REPOMD_MAX_BYTES = 4 << 20;
/** The most a repomd.xml.asc may weigh. */
export const REPOMD_SIGNATURE_MAX_BYTES = 64 << 10;

/**
 * Verifies repomd.xml's detached signature against the trusted keyring. Throws PgpError (its
 * message starts with `file`.asc) when the signature is malformed, by an unknown key, or wrong.
 */
export function verifyRepomdSignature(repomd: Uint8Array, signature: Uint8Array, keyring: PgpKeyring, file: string): PgpVerified {
  return verifySignature(repomd, signature, keyring, `${file}.asc`);
}

/** Parses repomd.xml (already verified). `file` (URL or path) names it in errors. */
export function parseRepomd(bytes: Uint8Array | string, file: string): Repomd {
  const text = typeof bytes === 'string' ? bytes : Buffer.from(bytes).toString('utf8');
  if (text.length > REPOMD_MAX_BYTES) throw new RepodataFormatError(`${file}: ${text.length} bytes, more than a repomd.xml may have (${REPOMD_MAX_BYTES})`);
  const parser = createXmlParser(file);
  const entries: RepomdEntry[] = [];
  let revision = '';
  let root: string | undefined;
  let depth = 0;
  let entry: Partial<RepomdEntry> & { type?: string } | undefined;
  let field: { name: string; type?: string } | undefined;
  let fieldText = '';

  parser.on('opentag', (tag) => {
    depth++;
    const name = localName(tag.name);
    if (depth === 1) {
      root = name;
      if (name !== 'repomd') throw new RepodataFormatError(`${file}: the document is <${tag.name}>, not <repomd>`);
      return;
    }
    if (depth === 2 && name === 'data') {
      const type = tag.attributes.type;
      if (!type) throw new RepodataFormatError(`${file}: a <data> entry has no type`);
      entry = { type };
      return;
    }
    if (depth === 2 && name === 'revision') {
      field = { name };
      fieldText = '';
      return;
    }
    if (depth !== 3 || !entry) return;
    if (name === 'location') {
      if (tag.attributes['xml:base'] !== undefined) throw new RepodataFormatError(`${file}: the ${entry.type} entry's location has an xml:base, which is not supported`);
      entry.location = checkRelativeHref(tag.attributes.href, `the ${entry.type} entry`, file);
    } else if (['checksum', 'open-checksum', 'timestamp', 'size', 'open-size'].includes(name)) {
      field = { name, type: tag.attributes.type };
      fieldText = '';
    }
  });
  parser.on('text', (text) => {
    if (field) fieldText += text;
  });
  parser.on('closetag', () => {
    if (field && (depth === 3 || (depth === 2 && field.name === 'revision'))) {
      finishField(field, fieldText.trim());
      field = undefined;
    } else if (depth === 2 && entry) {
      entries.push(finishEntry(entry));
      entry = undefined;
    }
    depth--;
  });

  function finishField(f: { name: string; type?: string }, value: string): void {
    if (f.name === 'revision') {
      revision = value;
      return;
    }
    const what = `the ${entry!.type} entry's <${f.name}>`;
    if (f.name === 'checksum' || f.name === 'open-checksum') {
      if (!f.type) throw new RepodataFormatError(`${file}: ${what} has no type`);
      if (!/^[0-9a-fA-F]{32,128}$/.test(value)) throw new RepodataFormatError(`${file}: ${what} is '${value}', not a hex digest`);
      const checksum: RpmChecksum = { type: f.type, hex: value.toLowerCase() };
      if (f.name === 'checksum') entry!.checksum = checksum;
      else entry!.openChecksum = checksum;
    } else if (f.name === 'timestamp') {
      entry!.timestamp = parseCount(value, what, file);
    } else if (f.name === 'size') {
      entry!.size = parseCount(value, what, file);
    } else {
      entry!.openSize = parseCount(value, what, file);
    }
  }

  function finishEntry(e: Partial<RepomdEntry> & { type?: string }): RepomdEntry {
    if (!e.checksum) throw new RepodataFormatError(`${file}: the ${e.type} entry has no <checksum>`);
    if (!e.location) throw new RepodataFormatError(`${file}: the ${e.type} entry has no <location>`);
    if (entries.some((other) => other.type === e.type)) throw new RepodataFormatError(`${file}: two <data type="${e.type}"> entries`);
    return e as RepomdEntry;
  }

  try {
    parser.write(text).close();
  } catch (err) {
    throw asFormatError(err);
  }
  if (root === undefined) throw new RepodataFormatError(`${file}: empty document, expected <repomd>`);
  return { revision, entries };
}

/** The entry of `type`, or a format error naming the repository's file. */
export function repomdEntry(repomd: Repomd, type: string, file: string): RepomdEntry {
  const entry = repomd.entries.find((e) => e.type === type);
  if (!entry) throw new RepodataFormatError(`${file}: no <data type="${type}"> entry (has: ${repomd.entries.map((e) => e.type).join(', ') || 'none'})`);
  return entry;
}
