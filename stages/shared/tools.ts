// Host tools more than one kind runs, declared once (a tool's Debian package is a fact about
// the tool). A tool only one kind runs is declared in that kind's file.
import type { HostTool } from '../kind.js';

export const MKFS_FAT: HostTool = { name: 'mkfs.fat', debianPackage: 'dosfstools', versionArgs: ['--help'] };
export const MMD: HostTool = { name: 'mmd', debianPackage: 'mtools', versionArgs: ['--version'] };
export const MCOPY: HostTool = { name: 'mcopy', debianPackage: 'mtools', versionArgs: ['--version'] };
export const XORRISO: HostTool = { name: 'xorriso', debianPackage: 'xorriso', versionArgs: ['-version'] };
export const SH: HostTool = { name: 'sh', debianPackage: 'dash', versionArgs: ['-c', 'echo ?'] };
