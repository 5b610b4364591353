// isolinux.cfg for the BIOS boot path, from the template stages/iso/isolinux.cfg.
export class IsolinuxConfigError extends Error {
  override name = 'IsolinuxConfigError';
}

export const ISOLINUX_TEMPLATE_FILE = 'pipeline:stages/iso/isolinux.cfg';

export interface IsolinuxValues {
  /** Shown by SAY before the kernel loads (the volume label, say). */
  title: string;
  /** ISO paths of the kernel and initramfs (`/boot/vmlinuz`). */
  kernel: string;
  initrd: string;
  /** The kernel command line. */
  append: string;
  /** Seconds the boot: prompt waits; 0 boots the default at once. */
  timeoutSeconds: number;
}

/** A value for one line of isolinux.cfg: printable, one line, no placeholder syntax. */
function lineValue(name: string, value: string): string {
  if (/[\x00-\x1f\x7f@]/.test(value)) {
    throw new IsolinuxConfigError(`isolinux.cfg: ${name} ${JSON.stringify(value)} must be one line of printable characters without '@'`);
  }
  return value;
}

/** Fills in the template; every @NAME@ must be known and filled. */
export function renderIsolinuxCfg(template: string, values: IsolinuxValues): string {
  const { timeoutSeconds } = values;
  if (!Number.isInteger(timeoutSeconds) || timeoutSeconds < 0 || timeoutSeconds > 3600) {
    throw new IsolinuxConfigError(`isolinux.cfg: timeout ${timeoutSeconds} must be whole seconds from 0 to 3600`);
  }
  // The kernel takes at most 2047 bytes of command line on x86; isolinux would cut it silently.
  if (Buffer.byteLength(values.append) > 2047) {
    throw new IsolinuxConfigError(`isolinux.cfg: the kernel command line is ${Buffer.byteLength(values.append)} bytes; x86 kernels take at most 2047`);
  }
  const fields: Record<string, string> = {
    TITLE: lineValue('title', values.title),
    KERNEL: lineValue('kernel path', values.kernel),
    INITRD: lineValue('initrd path', values.initrd),
    APPEND: lineValue('command line', values.append),
    // TIMEOUT 0 would mean "wait forever": with no countdown the prompt is off instead.
    PROMPT: timeoutSeconds > 0 ? '1' : '0',
    TIMEOUT: String(timeoutSeconds * 10),
  };
  return template.replace(/@([A-Z_]*)@/g, (whole, name: string) => {
    const value = fields[name];
    if (value === undefined) throw new IsolinuxConfigError(`isolinux.cfg template: unknown field ${whole} (known: ${Object.keys(fields).map((f) => `@${f}@`).join(' ')})`);
    return value;
  });
}
