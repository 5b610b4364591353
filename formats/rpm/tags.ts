// RPM v4 header tag numbers and data types (rpm's lib/rpmtag.h), with names for messages.
// Signature-header tags and main-header tags share a number space only by convention: 1000 is
// SIZE in the signature header and NAME in the main header, so each has its own table.

/** Entry data types (rpmTagType). */
export const RpmType = {
  NULL: 0,
  CHAR: 1,
  INT8: 2,
  INT16: 3,
  INT32: 4,
  INT64: 5,
  STRING: 6,
  BIN: 7,
  STRING_ARRAY: 8,
  I18NSTRING: 9,
} as const;
export type RpmTypeCode = (typeof RpmType)[keyof typeof RpmType];

/** Bytes per element, and the alignment rpm requires of an entry's offset. */
export const TYPE_SIZE: Record<number, number> = { 0: 0, 1: 1, 2: 1, 3: 2, 4: 4, 5: 8, 6: 1, 7: 1, 8: 1, 9: 1 };
export const TYPE_NAMES: Record<number, string> = {
  0: 'NULL',
  1: 'CHAR',
  2: 'INT8',
  3: 'INT16',
  4: 'INT32',
  5: 'INT64',
  6: 'STRING',
  7: 'BIN',
  8: 'STRING_ARRAY',
  9: 'I18NSTRING',
};

/** Region tags: a BIN entry of 16 bytes, itself an index entry (the trailer), closing the header's region. */
export const HEADER_SIGNATURES = 62;
export const HEADER_IMMUTABLE = 63;
export const HEADER_I18NTABLE = 100;

/** Signature-header tags. */
export const SigTag = {
  SIZE: 1000, // header + payload bytes
  LEMD5_1: 1001,
  PGP: 1002, // RSA over header + payload (legacy)
  LEMD5_2: 1003,
  MD5: 1004, // MD5 of header + payload (legacy)
  GPG: 1005, // DSA over header + payload (legacy)
  PGP5: 1006,
  PAYLOADSIZE: 1007, // uncompressed payload bytes
  RESERVEDSPACE: 1008,
  BADSHA1_1: 264,
  BADSHA1_2: 265,
  DSA: 267, // DSA / EdDSA over the main header
  RSA: 268, // RSA over the main header
  SHA1: 269, // hex SHA-1 of the main header
  LONGSIZE: 270,
  LONGARCHIVESIZE: 271,
  SHA256: 273, // hex SHA-256 of the main header
  FILESIGNATURES: 274,
  FILESIGNATURELENGTH: 275,
  VERITYSIGNATURES: 276,
  VERITYSIGNATUREALGO: 277,
  OPENPGP: 278, // rpm 6: base64 OpenPGP signatures over the main header, any number
  SHA3_256: 279,
  RESERVED: 999,
} as const;

/** Main-header tags this reader uses. */
export const Tag = {
  NAME: 1000,
  VERSION: 1001,
  RELEASE: 1002,
  EPOCH: 1003,
  SUMMARY: 1004,
  DESCRIPTION: 1005,
  BUILDTIME: 1006,
  BUILDHOST: 1007,
  SIZE: 1009,
  VENDOR: 1011,
  LICENSE: 1014,
  PACKAGER: 1015,
  GROUP: 1016,
  URL: 1020,
  OS: 1021,
  ARCH: 1022,
  PREIN: 1023,
  POSTIN: 1024,
  PREUN: 1025,
  POSTUN: 1026,
  OLDFILENAMES: 1027,
  FILESIZES: 1028,
  FILEMODES: 1030,
  FILERDEVS: 1033,
  FILEMTIMES: 1034,
  FILEDIGESTS: 1035,
  FILELINKTOS: 1036,
  FILEFLAGS: 1037,
  FILEUSERNAME: 1039,
  FILEGROUPNAME: 1040,
  SOURCERPM: 1044,
  ARCHIVESIZE: 1046,
  PROVIDENAME: 1047,
  REQUIREFLAGS: 1048,
  REQUIRENAME: 1049,
  REQUIREVERSION: 1050,
  CONFLICTFLAGS: 1053,
  CONFLICTNAME: 1054,
  CONFLICTVERSION: 1055,
  RPMVERSION: 1064,
  TRIGGERSCRIPTS: 1065,
  TRIGGERNAME: 1066,
  TRIGGERVERSION: 1067,
  TRIGGERFLAGS: 1068,
  TRIGGERINDEX: 1069,
  PREINPROG: 1085,
  POSTINPROG: 1086,
  PREUNPROG: 1087,
  POSTUNPROG: 1088,
  OBSOLETENAME: 1090,
  FILEDEVICES: 1095,
  FILEINODES: 1096,
  PROVIDEFLAGS: 1112,
  PROVIDEVERSION: 1113,
  OBSOLETEFLAGS: 1114,
  OBSOLETEVERSION: 1115,
  DIRINDEXES: 1116,
  BASENAMES: 1117,
  DIRNAMES: 1118,
  PAYLOADFORMAT: 1124,
  PAYLOADCOMPRESSOR: 1125,
  PAYLOADFLAGS: 1126,
  TRIGGERSCRIPTPROG: 1092,
  PRETRANS: 1151,
  POSTTRANS: 1152,
  PRETRANSPROG: 1153,
  POSTTRANSPROG: 1154,
  LONGFILESIZES: 5008,
  LONGSIZE: 5009,
  FILECAPS: 5010,
  FILEDIGESTALGO: 5011,
  PAYLOADDIGEST: 5092,
  PAYLOADDIGESTALGO: 5093,
  PAYLOADDIGESTALT: 5097,
  PREUNTRANS: 5104,
  POSTUNTRANS: 5105,
  PREUNTRANSPROG: 5106,
  POSTUNTRANSPROG: 5107,
} as const;

const SIG_NAMES: Record<number, string> = Object.fromEntries(Object.entries(SigTag).map(([name, tag]) => [tag, name]));
const MAIN_NAMES: Record<number, string> = Object.fromEntries(Object.entries(Tag).map(([name, tag]) => [tag, name]));

/** `SHA256 (273)`: a tag for messages. */
export function tagName(tag: number, header: 'signature' | 'main'): string {
  if (tag === HEADER_SIGNATURES) return `HEADERSIGNATURES (${tag})`;
  if (tag === HEADER_IMMUTABLE) return `HEADERIMMUTABLE (${tag})`;
  if (tag === HEADER_I18NTABLE) return `HEADERI18NTABLE (${tag})`;
  const name = (header === 'signature' ? SIG_NAMES : MAIN_NAMES)[tag];
  return name ? `${name} (${tag})` : `tag ${tag}`;
}

/** FILEFLAGS bits (rpmfileAttrs). */
export const FileFlag = {
  CONFIG: 1 << 0,
  DOC: 1 << 1,
  MISSINGOK: 1 << 3,
  NOREPLACE: 1 << 4,
  GHOST: 1 << 6,
  LICENSE: 1 << 7,
  README: 1 << 8,
  ARTIFACT: 1 << 12,
} as const;

/** PGPHASHALGO values used by FILEDIGESTALGO and PAYLOADDIGESTALGO, as node:crypto names. */
export const DIGEST_ALGORITHMS: Record<number, string> = {
  1: 'md5',
  2: 'sha1',
  8: 'sha256',
  9: 'sha384',
  10: 'sha512',
  11: 'sha224',
  12: 'sha3-256',
  14: 'sha3-512',
};

/** Dependency sense flags (rpmsenseFlags): comparison bits and the scriptlet-order bits. */
export const Sense = {
  LESS: 1 << 1,
  GREATER: 1 << 2,
  EQUAL: 1 << 3,
  PREREQ: 1 << 6,
  INTERP: 1 << 8,
  SCRIPT_PRE: 1 << 9,
  SCRIPT_POST: 1 << 10,
  SCRIPT_PREUN: 1 << 11,
  SCRIPT_POSTUN: 1 << 12,
  RPMLIB: 1 << 24,
} as const;
