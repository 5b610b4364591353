// Which QEMU accelerator to use. KVM only where it can work: /dev/kvm must open read-write AND the
// CPU must advertise vmx/svm. (Seen on our build VMs: /dev/kvm exists and opens, the CPU has no
// vmx/svm, and a KVM guest hangs right after "Probing EDD"; TCG boots the same kernel in ~4 s.)
import { constants } from 'node:fs';
import { access, readFile } from 'node:fs/promises';

export type Accelerator = 'kvm' | 'tcg';

/** Environment override: PIPELINE_QEMU_ACCEL=kvm|tcg|auto (default auto). */
export const ACCEL_ENV = 'PIPELINE_QEMU_ACCEL';

export class AcceleratorConfigError extends Error {
  override name = 'AcceleratorConfigError';
}

export async function detectAccelerator(env: NodeJS.ProcessEnv = process.env): Promise<Accelerator> {
  const requested = env[ACCEL_ENV] ?? 'auto';
  if (requested === 'tcg' || requested === 'kvm') return requested;
  if (requested !== 'auto') {
    throw new AcceleratorConfigError(`${ACCEL_ENV}=${requested} is not one of kvm, tcg, auto`);
  }
  return (await kvmUsable()) ? 'kvm' : 'tcg';
}

async function kvmUsable(): Promise<boolean> {
  try {
    await access('/dev/kvm', constants.R_OK | constants.W_OK);
  } catch {
    return false;
  }
  const cpuinfo = await readFile('/proc/cpuinfo', 'utf8').catch(() => '');
  return /^flags\s*:.*\b(vmx|svm)\b/m.test(cpuinfo);
}
