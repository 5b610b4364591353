// What the rest of the tool knows of a node kind, declared once in the kind's own file and
// listed in stages/index.ts: `pipeline doctor`, the tool hints of missing-tool errors, the
// host-file table the engine resolves firmware with, and the check that CI installs every
// Debian package the stages need are all derived from that list.
import type { HostFileSpec } from '../graph/host-files.js';

/** A host tool a kind's nodes run, and where a Debian machine gets it. */
export interface HostTool {
  name: string;
  debianPackage: string;
  /** Arguments that make the tool print its version (`pipeline doctor`). */
  versionArgs: string[];
}

export interface StageKind {
  /** NodeSpec.kind of its nodes (`squashfs`). */
  kind: string;
  /** NodeSpec.version of its nodes: bump when the output changes for the same inputs. */
  version: number;
  /** What its nodes make, one line (`pipeline doctor` says what each tool is for with it). */
  summary: string;
  /** Host tools its nodes may declare. */
  tools: HostTool[];
  /** Host files its nodes may declare, by name (graph/host-files.ts). */
  hostFiles?: Record<string, HostFileSpec & { debianPackage: string }>;
  /** Its nodes run tools the user names (custom steps): any tool is allowed. */
  userTools?: boolean;
}
