// Real inputs for UKI and signing tests, from Debian packages: the systemd 252 EFI stub and
// systemd-boot (bookworm), a newer 4 KiB-aligned stub (systemd 254, bookworm-backports), the
// Debian kernel. Everything is fetched once and cached under out/fixtures.
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { extractDeb, fetchDeb, kernelPackageName } from '../../fixtures/debs.js';
import { fixturesDir } from '../../fixtures/paths.js';

const run = promisify(execFile);

export function ukiFixturesDir(): string {
  return join(fixturesDir(), 'uki');
}

/** Extracts a .deb once into out/fixtures/uki/extract/<name> (atomic: a killed run leaves no half tree). */
async function extractOnce(deb: string, name: string): Promise<string> {
  const dest = join(ukiFixturesDir(), 'extract', name);
  if (existsSync(join(dest, '.complete'))) return dest;
  const partial = `${dest}.partial-${process.pid}`;
  await rm(partial, { recursive: true, force: true });
  await extractDeb(deb, partial);
  await writeFile(join(partial, '.complete'), '');
  try {
    await rename(partial, dest);
  } catch {
    // Another test worker finished first: keep theirs.
    await rm(partial, { recursive: true, force: true });
    if (!existsSync(join(dest, '.complete'))) throw new Error(`cannot move ${partial} to ${dest}`);
  }
  return dest;
}

function debBaseName(deb: string): string {
  return deb.split('/').pop()!.replace(/\.deb$/, '');
}

export interface SystemdBootFiles {
  stub: string;
  systemdBoot: string;
  version: string;
}

const EFI_DIR = 'usr/lib/systemd/boot/efi';

/** Debian bookworm's systemd-boot-efi (systemd 252): SectionAlignment 0x200 stub. */
export async function bookwormSystemdBoot(): Promise<SystemdBootFiles> {
  const deb = await fetchDeb('systemd-boot-efi');
  const root = await extractOnce(deb, debBaseName(deb));
  return { stub: join(root, EFI_DIR, 'linuxx64.efi.stub'), systemdBoot: join(root, EFI_DIR, 'systemd-bootx64.efi'), version: debBaseName(deb).split('_')[1] };
}

/** The Debian archive URI and keyring apt uses for this release's main suite (from its sources). */
async function debianArchive(codename: string): Promise<{ uri: string; keyring: string }> {
  const found: { uri: string; keyring: string }[] = [];
  const defaultKeyring = '/usr/share/keyrings/debian-archive-keyring.gpg';
  const dir = '/etc/apt/sources.list.d';
  const files = existsSync(dir) ? (await readdir(dir)).map((f) => join(dir, f)) : [];
  for (const file of files.filter((f) => f.endsWith('.sources'))) {
    for (const paragraph of (await readFile(file, 'utf8')).split(/\n\s*\n/)) {
      const field = (name: string) => new RegExp(`^${name}:\\s*(.*)$`, 'mi').exec(paragraph)?.[1].trim();
      if (!field('Types')?.split(/\s+/).includes('deb')) continue;
      if (!field('Suites')?.split(/\s+/).includes(codename)) continue;
      const uri = field('URIs')?.split(/\s+/)[0];
      if (uri) found.push({ uri, keyring: field('Signed-By') ?? defaultKeyring });
    }
  }
  if (existsSync('/etc/apt/sources.list')) {
    for (const line of (await readFile('/etc/apt/sources.list', 'utf8')).split('\n')) {
      const m = new RegExp(`^deb\\s+(?:\\[[^\\]]*\\]\\s+)?(\\S+)\\s+${codename}\\s`).exec(line);
      if (m) found.push({ uri: m[1], keyring: defaultKeyring });
    }
  }
  if (found.length === 0) throw new Error(`no apt source for Debian '${codename}' found in /etc/apt; cannot reach ${codename}-backports`);
  return found[0];
}

/**
 * A newer, 4 KiB-aligned stub: systemd-boot-efi from <codename>-backports (254 on bookworm),
 * downloaded with a private apt configuration (the machine's sources stay untouched) next to the
 * machine's own Debian archive.
 */
export async function backportsSystemdBoot(): Promise<SystemdBootFiles> {
  const base = join(ukiFixturesDir(), 'backports');
  const debDir = join(base, 'debs');
  const cached = existsSync(debDir) ? (await readdir(debDir)).find((f) => f.startsWith('systemd-boot-efi_') && f.endsWith('.deb')) : undefined;
  let deb = cached ? join(debDir, cached) : undefined;
  if (!deb) {
    const osRelease = await readFile('/etc/os-release', 'utf8');
    const codename = /^VERSION_CODENAME=(.*)$/m.exec(osRelease)?.[1].replace(/"/g, '');
    if (!codename) throw new Error('/etc/os-release has no VERSION_CODENAME');
    const { uri, keyring } = await debianArchive(codename);
    // Private apt state per process: parallel test files must not share apt's lock.
    const apt = join(base, `.apt-${process.pid}`);
    await mkdir(join(apt, 'lists', 'partial'), { recursive: true });
    await mkdir(join(apt, 'cache', 'archives', 'partial'), { recursive: true });
    await writeFile(join(apt, 'sources.list'), `deb [signed-by=${keyring}] ${uri} ${codename}-backports main\n`);
    const options = [
      '-o', `Dir::Etc::SourceList=${join(apt, 'sources.list')}`, '-o', 'Dir::Etc::SourceParts=/dev/null',
      '-o', `Dir::State::Lists=${join(apt, 'lists')}`, '-o', `Dir::Cache=${join(apt, 'cache')}`,
      '-o', 'APT::Sandbox::User=root',
    ];
    const partial = join(base, `.partial-${process.pid}`);
    await rm(partial, { recursive: true, force: true });
    await mkdir(partial, { recursive: true });
    try {
      await run('apt-get', [...options, 'update'], { maxBuffer: 16 << 20 });
      await run('apt-get', [...options, 'download', `systemd-boot-efi/${codename}-backports`], { cwd: partial, maxBuffer: 16 << 20 });
    } catch (err) {
      throw new Error(`downloading systemd-boot-efi from ${codename}-backports failed (is the Debian archive reachable?): ${(err as Error).message}`);
    } finally {
      await rm(apt, { recursive: true, force: true });
    }
    const [file] = (await readdir(partial)).filter((f) => f.endsWith('.deb'));
    if (!file) throw new Error(`apt-get download systemd-boot-efi/${codename}-backports produced no .deb`);
    await mkdir(debDir, { recursive: true });
    await rename(join(partial, file), join(debDir, file));
    await rm(partial, { recursive: true, force: true });
    deb = join(debDir, file);
  }
  const root = await extractOnce(deb, debBaseName(deb));
  return { stub: join(root, EFI_DIR, 'linuxx64.efi.stub'), systemdBoot: join(root, EFI_DIR, 'systemd-bootx64.efi'), version: debBaseName(deb).split('_')[1] };
}

/** The Debian kernel image (vmlinuz, a signed x86 bzImage/PE) and its release. */
export async function debianKernel(): Promise<{ vmlinuz: string; release: string }> {
  const pkg = await kernelPackageName();
  const deb = await fetchDeb(pkg);
  const root = await extractOnce(deb, debBaseName(deb));
  const vmlinuz = (await readdir(join(root, 'boot'))).find((f) => f.startsWith('vmlinuz-'));
  if (!vmlinuz) throw new Error(`${deb} has no /boot/vmlinuz-*`);
  return { vmlinuz: join(root, 'boot', vmlinuz), release: vmlinuz.slice('vmlinuz-'.length) };
}

/** busybox from Debian's busybox-static (a static binary, for tiny initrds). */
export async function busyboxStatic(): Promise<string> {
  const deb = await fetchDeb('busybox-static');
  const root = await extractOnce(deb, debBaseName(deb));
  return join(root, 'bin', 'busybox');
}

/** A fresh scratch directory under out/fixtures/uki/tmp (the caller removes it). */
export async function scratchDir(name: string): Promise<string> {
  const dir = join(ukiFixturesDir(), 'tmp', `${name}-${process.pid}-${Date.now()}`);
  await mkdir(dir, { recursive: true });
  return dir;
}

/** `objdump -h` rows: name, size, VMA, file offset. */
export interface ObjdumpSection {
  name: string;
  size: number;
  vma: bigint;
  fileOffset: number;
}

export async function objdumpSections(file: string): Promise<ObjdumpSection[]> {
  const { stdout } = await run('objdump', ['-h', file], { maxBuffer: 4 << 20 });
  const rows: ObjdumpSection[] = [];
  for (const line of stdout.split('\n')) {
    const m = /^\s*\d+\s+(\S+)\s+([0-9a-f]+)\s+([0-9a-f]+)\s+[0-9a-f]+\s+([0-9a-f]+)\s+2\*\*\d+/.exec(line);
    if (m) rows.push({ name: m[1], size: parseInt(m[2], 16), vma: BigInt('0x' + m[3]), fileOffset: parseInt(m[4], 16) });
  }
  return rows;
}

/** `objdump -p` header fields by name (ImageBase, SectionAlignment, SizeOfImage, Time/Date, ...). */
export async function objdumpPrivate(file: string): Promise<Map<string, string>> {
  const { stdout } = await run('objdump', ['-p', file], { maxBuffer: 4 << 20 });
  const fields = new Map<string, string>();
  for (const line of stdout.split('\n')) {
    const m = /^(\S[^\t]*?)\t+(.*)$/.exec(line);
    if (m && !fields.has(m[1])) fields.set(m[1], m[2].trim());
  }
  return fields;
}

export function hexField(fields: Map<string, string>, name: string): bigint {
  const value = fields.get(name);
  if (value === undefined) throw new Error(`objdump -p printed no ${name}`);
  return BigInt('0x' + value.split(/\s/)[0]);
}
