// The ISO's volume label: the live initramfs finds the medium by it (root=live:LABEL=<label>),
// so it must survive ISO 9660's rules unchanged.
export class VolumeLabelError extends Error {
  override name = 'VolumeLabelError';
}

/**
 * ISO 9660 volume identifiers are d-characters (A-Z 0-9 _), at most 32. The ISO carries no Joliet
 * tree: Joliet's volume id holds only 16 characters, and blkid/busybox report the Joliet label
 * when there is one, so a longer label would no longer match root=live:LABEL=.
 */
export function validateIsoVolumeLabel(label: string, where: string): string {
  if (!/^[A-Z0-9_]{1,32}$/.test(label)) {
    throw new VolumeLabelError(
      `${where}: ISO volume label ${JSON.stringify(label)} must be 1-32 characters of A-Z 0-9 _ (ISO 9660 d-characters); try ${JSON.stringify(isoVolumeLabelFor(label))}`,
    );
  }
  return label;
}

/** A valid label made from free text: upper case, other characters as '_', cut to 32. */
export function isoVolumeLabelFor(text: string): string {
  const label = text.toUpperCase().replace(/[^A-Z0-9_]+/g, '_').replace(/^_+|_+$/g, '').slice(0, 32);
  return label || 'LIVE';
}

/** The live kernel command line: the medium by label first, then the variant's own arguments. */
export function liveKernelCommandLine(label: string, cmdline: string): string {
  validateIsoVolumeLabel(label, 'live command line');
  if (/(^|\s)root=/.test(cmdline)) {
    throw new VolumeLabelError(`live command line: ${JSON.stringify(cmdline)} already has root=; the ISO stage adds root=live:LABEL=${label} itself`);
  }
  return [`root=live:LABEL=${label}`, cmdline.trim()].filter(Boolean).join(' ');
}
