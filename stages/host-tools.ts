// The host tools the stages run, with the Debian package that provides each: `pipeline doctor`
// lists them, and a node that misses one names the package in its error.

export interface HostTool {
  name: string;
  debianPackage: string;
  /** Arguments that make the tool print its version. */
  versionArgs: string[];
  usedBy: string;
  /** Only the test suite needs it, not a build. */
  testOnly?: boolean;
}

export const HOST_TOOLS: HostTool[] = [
  { name: 'mksquashfs', debianPackage: 'squashfs-tools', versionArgs: ['-version'], usedBy: 'root image (squashfs)' },
  { name: 'mkfs.erofs', debianPackage: 'erofs-utils', versionArgs: ['--help'], usedBy: 'root image (erofs)' },
  { name: 'depmod', debianPackage: 'kmod', versionArgs: ['--version'], usedBy: 'initramfs (kernels without modules.dep)' },
  { name: 'zstd', debianPackage: 'zstd', versionArgs: ['--version'], usedBy: 'initramfs compression' },
  { name: 'gzip', debianPackage: 'gzip', versionArgs: ['--version'], usedBy: 'initramfs compression (gzip)' },
  { name: 'unshare', debianPackage: 'util-linux', versionArgs: ['--version'], usedBy: 'rootfs: confined install scripts' },
  { name: 'chroot', debianPackage: 'coreutils', versionArgs: ['--version'], usedBy: 'rootfs: install scripts' },
  { name: 'setpriv', debianPackage: 'util-linux', versionArgs: ['--version'], usedBy: 'boot tests (QEMU dies with its caller)' },
  { name: 'sfdisk', debianPackage: 'fdisk', versionArgs: ['--version'], usedBy: 'boot tests (slot-b disk)' },
  { name: 'mkfs.fat', debianPackage: 'dosfstools', versionArgs: ['--help'], usedBy: 'ESP image' },
  { name: 'mcopy', debianPackage: 'mtools', versionArgs: ['--version'], usedBy: 'ESP image' },
  { name: 'mmd', debianPackage: 'mtools', versionArgs: ['--version'], usedBy: 'ESP image' },
  { name: 'xorriso', debianPackage: 'xorriso', versionArgs: ['-version'], usedBy: 'hybrid ISO' },
  { name: 'openssl', debianPackage: 'openssl', versionArgs: ['version'], usedBy: 'keys init, signatures' },
  { name: 'cert-to-efi-sig-list', debianPackage: 'efitools', versionArgs: ['--version'], usedBy: 'keys init (EFI signature lists)' },
  { name: 'sign-efi-sig-list', debianPackage: 'efitools', versionArgs: ['--version'], usedBy: 'keys init (.auth files)' },
  { name: 'qemu-system-x86_64', debianPackage: 'qemu-system-x86', versionArgs: ['--version'], usedBy: 'boot tests' },
  { name: 'sbverify', debianPackage: 'sbsigntool', versionArgs: ['--version'], usedBy: 'tests: signature checks', testOnly: true },
  { name: 'unsquashfs', debianPackage: 'squashfs-tools', versionArgs: ['-version'], usedBy: 'tests: root image listing', testOnly: true },
  { name: 'cpio', debianPackage: 'cpio', versionArgs: ['--version'], usedBy: 'tests: initramfs listing', testOnly: true },
  { name: 'objdump', debianPackage: 'binutils', versionArgs: ['--version'], usedBy: 'tests: UKI section layout', testOnly: true },
  { name: 'isoinfo', debianPackage: 'genisoimage', versionArgs: ['-version'], usedBy: 'tests: ISO listing', testOnly: true },
  { name: 'nginx', debianPackage: 'nginx-light', versionArgs: ['-v'], usedBy: 'tests: remote cache (WebDAV)', testOnly: true },
];

export interface FirmwareFile {
  path: string;
  debianPackage: string;
  usedBy: string;
}

export const FIRMWARE_FILES: FirmwareFile[] = [
  { path: '/usr/share/OVMF/OVMF_CODE_4M.fd', debianPackage: 'ovmf', usedBy: 'boot tests (UEFI)' },
  { path: '/usr/share/OVMF/OVMF_VARS_4M.fd', debianPackage: 'ovmf', usedBy: 'boot tests (UEFI)' },
  { path: '/usr/share/OVMF/OVMF_CODE_4M.secboot.fd', debianPackage: 'ovmf', usedBy: 'boot tests (Secure Boot)' },
  { path: '/usr/share/seabios/bios-256k.bin', debianPackage: 'seabios', usedBy: 'boot tests (BIOS)' },
];

/** Tool name -> "Debian package X" hint for errors about a missing tool. */
export function toolHints(): Record<string, string> {
  return Object.fromEntries(HOST_TOOLS.map((t) => [t.name, `Debian package ${t.debianPackage}: apt-get install ${t.debianPackage}`]));
}
