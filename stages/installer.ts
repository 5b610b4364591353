// The installer tools every variant's system carries (stages/installer/tools/: recstrap,
// recfstab, recchroot, recab and their shared lib.sh, POSIX sh over busybox or util-linux), with
// what recab needs to accept updates: the variant's name and the public key its update bundles
// are signed with (the Secure Boot db certificate's key). Output: root/ + manifest.json, a tree
// for the upper root layer, so editing a tool rebuilds neither the packages' rootfs nor its image.
import { chmod, copyFile, mkdir, readFile, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import type { NodeSpec } from '../graph/node.js';
import { updatePublicKeyPem } from '../formats/update-bundle.js';
import { manifestOfTree } from './rootfs/manifest-of-tree.js';
import { writeManifest } from './shared/manifest.js';
import type { StageKind } from './kind.js';

export const INSTALLER_STAGE: StageKind = { kind: 'installer-tools', version: 1, summary: 'installer and A/B update tools', tools: [] };

const TOOLS_DIR = 'pipeline:stages/installer/tools';
/** The commands, installed in /usr/sbin. */
export const INSTALLER_COMMANDS = ['recstrap', 'recfstab', 'recchroot', 'recab'] as const;
/** Where the tools' shared code and data live in the image. */
export const RECAB_LIB_DIR = 'usr/lib/recab';

export function installerToolsNode(options: {
  variant: string;
  /** The db certificate (project-relative): update bundles are signed with its key. */
  certificate: string;
  hints?: Record<string, string>;
}): NodeSpec {
  return {
    id: `installer:${options.variant}`,
    kind: INSTALLER_STAGE.kind,
    version: INSTALLER_STAGE.version,
    files: [TOOLS_DIR, options.certificate],
    params: { variant: options.variant, certificate: options.certificate },
    hints: options.hints,
    description: `${options.variant}'s installer and update tools (${INSTALLER_COMMANDS.join(', ')})`,
    async run(ctx) {
      const root = join(ctx.out, 'root');
      const sbin = join(root, 'usr/sbin');
      const lib = join(root, RECAB_LIB_DIR);
      await mkdir(sbin, { recursive: true });
      await mkdir(lib, { recursive: true });
      const tools = ctx.file(TOOLS_DIR);
      for (const command of INSTALLER_COMMANDS) {
        await copyFile(join(tools, command), join(sbin, command));
        await chmod(join(sbin, command), 0o755);
      }
      await copyFile(join(tools, 'lib.sh'), join(lib, 'lib.sh'));
      await chmod(join(lib, 'lib.sh'), 0o644);
      await writeFile(join(lib, 'variant'), `${options.variant}\n`, { mode: 0o644 });
      const certificate = await readFile(ctx.file(options.certificate));
      await writeFile(join(lib, 'update-key.pem'), updatePublicKeyPem(certificate), { mode: 0o644 });
      await writeManifest(join(ctx.out, 'manifest.json'), await manifestOfTree(root, `installer:${options.variant}`));
      ctx.log(`${INSTALLER_COMMANDS.join(', ')} in /usr/sbin; variant ${options.variant} and its update key in /${RECAB_LIB_DIR}`);
    },
  };
}
