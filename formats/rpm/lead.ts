// The RPM lead: the 96 bytes every .rpm starts with. rpm itself ignores most of it (the headers
// that follow are the truth); we check the magic, the major version and the package type.

export const LEAD_SIZE = 96;
export const LEAD_MAGIC = Buffer.from([0xed, 0xab, 0xee, 0xdb]);

export interface RpmLead {
  major: number;
  minor: number;
  /** 0 binary, 1 source. */
  type: number;
  archnum: number;
  /** The NUL-terminated name field (`hello-2.0-1`), informational only. */
  name: string;
  osnum: number;
  /** 5 = the header-style signature every package of the last 25 years has. */
  signatureType: number;
}

export class RpmFormatError extends Error {
  override name = 'RpmFormatError';
  constructor(
    message: string,
    /** Byte offset in the .rpm file where the problem was found, when known. */
    readonly offset?: number,
  ) {
    super(message);
  }
}

export function parseLead(bytes: Uint8Array, label = 'rpm'): RpmLead {
  const lead = Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  if (lead.length < LEAD_SIZE) throw new RpmFormatError(`${label}: file ends inside the 96-byte lead (${lead.length} bytes): truncated`, lead.length);
  if (!lead.subarray(0, 4).equals(LEAD_MAGIC)) {
    throw new RpmFormatError(`${label}: not an RPM package (lead magic ${lead.subarray(0, 4).toString('hex')}, expected edabeedb)`, 0);
  }
  const parsed: RpmLead = {
    major: lead[4],
    minor: lead[5],
    type: lead.readUInt16BE(6),
    archnum: lead.readUInt16BE(8),
    name: lead.subarray(10, 76).toString('latin1').split('\0')[0],
    osnum: lead.readUInt16BE(76),
    signatureType: lead.readUInt16BE(78),
  };
  if (parsed.major !== 3 && parsed.major !== 4) throw new RpmFormatError(`${label}: lead version ${parsed.major}.${parsed.minor}, expected 3.0 or 4.0`, 4);
  if (parsed.type !== 0) throw new RpmFormatError(`${label}: a ${parsed.type === 1 ? 'source' : `type ${parsed.type}`} package, not a binary one`, 6);
  if (parsed.signatureType !== 5) throw new RpmFormatError(`${label}: lead signature type ${parsed.signatureType}, expected 5 (header-style signature)`, 78);
  return parsed;
}
