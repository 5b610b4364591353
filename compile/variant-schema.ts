// The shape of a variant file, written once: this schema checks variant files (with file:line:col,
// compile/schema-check.ts), the TypeScript type `Variant` is derived from it (compile/schema-type.ts),
// and variants/variant.schema.json, which editors read, is written from it (`npm run schema`; a test
// keeps the two equal).
import type { Schema } from './schema-check.js';
import type { SchemaType } from './schema-type.js';

export const VARIANT_SCHEMA = {
  $schema: 'https://json-schema.org/draft/2020-12/schema',
  title: 'pipeline variant',
  description: 'An operating-system variant: what `pipeline build <name>` compiles into a bootable ISO.',
  type: 'object',
  additionalProperties: false,
  required: ['name'],
  properties: {
    name: {
      type: 'string',
      pattern: '^[a-z][a-z0-9-]*$',
      description: 'short lowercase name; node ids and out/<name>/ use it',
    },
    description: { type: 'string' },
    steps: {
      type: 'object',
      description: 'custom build steps: commands with declared inputs, cached like every other node',
      additionalProperties: { $ref: '#/$defs/step' },
    },
    epoch: {
      type: 'integer',
      description: 'SOURCE_DATE_EPOCH for every node: all timestamps in the images; a fixed value makes builds byte-reproducible',
      minimum: 315532800,
    },
    os: {
      type: 'object',
      additionalProperties: false,
      required: ['id', 'name'],
      description: '/etc/os-release and names derived from it',
      properties: {
        id: {
          type: 'string',
          description: 'os-release ID (lowercase); also the UKI file names <id>-live.efi, <id>-system-a.efi',
          pattern: '^[a-z0-9._-]+$',
        },
        name: { type: 'string', description: 'os-release NAME' },
        pretty_name: { type: 'string', description: 'os-release PRETTY_NAME (default: NAME VERSION_ID)' },
        version_id: { type: 'string', description: 'os-release VERSION_ID' },
        home_url: { type: 'string', description: 'os-release HOME_URL' },
        extra: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'more os-release fields (KEY: value)',
        },
      },
    },
    hostname: { type: 'string', description: '/etc/hostname', pattern: '^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$' },
    iso_label: {
      type: 'string',
      description: 'ISO 9660 volume label; the live kernel finds its medium by it (root=live:LABEL=...)',
      pattern: '^[A-Z0-9_]{1,32}$',
    },
    mirrors: {
      type: 'object',
      additionalProperties: { type: 'string' },
      description: 'default location of each named mirror: a URL, a file URL or a project-relative path. --mirror NAME=URL and pipeline.config.yaml override it',
    },
    alpine: {
      type: 'object',
      additionalProperties: false,
      required: ['arch', 'keys', 'repositories'],
      description: 'Alpine Linux package source (APK v2)',
      properties: {
        arch: { type: 'string', description: 'package architecture', enum: ['x86_64'] },
        keys: { type: 'string', description: 'project directory of trusted *.rsa.pub signing keys' },
        repositories: {
          type: 'array',
          minItems: 1,
          description: 'in priority order',
          items: { $ref: '#/$defs/repository' },
        },
        max_unpacked_size: {
          type: 'integer',
          minimum: 1048576,
          description: 'the most, in bytes, any one package or index may unpack to (default 2147483648, 2 GiB); packages are also held to their declared installed size',
        },
      },
    },
    rpm: {
      type: 'object',
      additionalProperties: false,
      required: ['arch', 'keys', 'repositories'],
      description: 'RPM package source (Rocky Linux, Enterprise Linux repodata)',
      properties: {
        arch: { type: 'string', description: 'package architecture (noarch is always accepted beside it)', enum: ['x86_64'] },
        keys: {
          type: 'array',
          minItems: 1,
          description: 'trusted OpenPGP keys: repomd.xml.asc and every package header must be signed by one of them',
          items: {
            type: 'object',
            additionalProperties: false,
            required: ['file', 'fingerprint'],
            properties: {
              file: { type: 'string', description: 'project path of the armored public key (RPM-GPG-KEY-...)' },
              fingerprint: {
                type: 'string',
                pattern: '^[0-9A-Fa-f ]{40,50}$',
                description: "the key's v4 fingerprint (40 hex digits, spaces allowed): a key file whose fingerprint differs is refused",
              },
            },
          },
        },
        repositories: {
          type: 'array',
          minItems: 1,
          description: 'repositories; the best version wins among those of the lowest priority value',
          items: { $ref: '#/$defs/rpmRepository' },
        },
        weak_deps: { type: 'boolean', description: 'install Recommends (default true, like dnf)' },
        post_install: {
          type: 'array',
          items: { type: 'string', enum: ['sysusers', 'crypto-policies', 'authselect', 'machine-id', 'presets', 'depmod', 'ldconfig'] },
          description: 'the native post-install actions run in place of the scriptlets (default all; each does nothing when what it works on is absent)',
        },
        reviewed_scriptlets: {
          type: 'array',
          items: { type: 'string', pattern: '^[A-Za-z0-9+._-]+(/[a-z]+)?$' },
          description: 'scriptlets no post-install action covers that you have reviewed and accept not running: <package> or <package>/<scriptlet>',
        },
        max_unpacked_size: {
          type: 'integer',
          minimum: 1048576,
          description: 'the most, in bytes, any one package may unpack to (default 2147483648, 2 GiB); packages are also held to their declared installed size',
        },
      },
    },
    packages: {
      type: 'array',
      minItems: 1,
      items: { type: 'string', minLength: 1 },
      description: 'packages to install (apk: name, name>=1.2, so:libfoo.so.1, ...; rpm: a name or a provide)',
    },
    recipes: {
      type: 'array',
      items: { type: 'string', pattern: '^[a-z0-9][a-z0-9+._-]*$' },
      description: 'recipes (recipes/<name>.rhai) built from source in a sandbox and installed above the packages',
    },
    kernel: {
      type: 'object',
      additionalProperties: false,
      required: ['package', 'image'],
      properties: {
        package: { type: 'string', description: 'the package holding the kernel and its modules' },
        image: { type: 'string', description: 'the kernel image\'s path inside that package (boot/vmlinuz-lts); `*` matches within a path segment, for a release in the path (usr/lib/modules/*/vmlinuz)' },
        cmdline: {
          type: 'array',
          items: { type: 'string' },
          description: 'kernel command line options for every boot entry (console=ttyS0,115200 ...)',
        },
      },
    },
    boot: {
      type: 'object',
      additionalProperties: false,
      required: ['efi_stub', 'systemd_boot', 'syslinux'],
      description: 'bootloaders, all taken from the variant\'s own packages',
      properties: {
        efi_stub: { $ref: '#/$defs/packageFile', description: 'the systemd EFI stub the UKIs are built on' },
        systemd_boot: { $ref: '#/$defs/packageFile', description: 'systemd-bootx64.efi' },
        syslinux: {
          type: 'object',
          additionalProperties: false,
          required: ['package', 'dir'],
          properties: {
            package: { type: 'string' },
            dir: { type: 'string', description: 'directory holding isolinux.bin, ldlinux.c32 and isohdpfx.bin' },
          },
        },
        timeout: {
          type: 'integer',
          description: 'boot menu timeout in seconds (systemd-boot and isolinux)',
          minimum: 0,
          maximum: 600,
        },
      },
    },
    initramfs: {
      type: 'object',
      additionalProperties: false,
      required: ['busybox'],
      properties: {
        busybox: {
          $ref: '#/$defs/packageFile',
          description: 'a static busybox (Alpine: busybox-static\'s bin/busybox.static)',
        },
        compression: { type: 'string', description: 'zstd (default) or gzip', enum: ['zstd', 'gzip'] },
        level: { type: 'integer', description: 'compression level (default: zstd 19)', minimum: 1, maximum: 19 },
        modules: {
          type: 'array',
          items: { type: 'string' },
          description: 'modules the live boot loads (default: stages/initramfs/modules.default); a trailing ? marks one optional',
        },
      },
    },
    root_image: {
      type: 'object',
      additionalProperties: false,
      properties: {
        format: { type: 'string', description: 'squashfs (default) or erofs', enum: ['squashfs', 'erofs'] },
        level: { type: 'integer', description: 'compression level', minimum: 1, maximum: 22 },
      },
    },
    system: {
      type: 'object',
      additionalProperties: false,
      description: 'what the root filesystem is configured to do',
      properties: {
        init: {
          type: 'string',
          description: 'openrc (OpenRC on busybox init), busybox (plain busybox init) or systemd (systemd as PID 1)',
          enum: ['openrc', 'busybox', 'systemd'],
        },
        services: {
          type: 'object',
          additionalProperties: { type: 'array', items: { type: 'string' }, description: 'service names' },
          description: 'OpenRC runlevel -> services to enable (sysinit, boot, default, shutdown); systemd: target -> units (multi-user.target: [sshd.service])',
        },
        users: { type: 'array', items: { $ref: '#/$defs/user' } },
        console: {
          type: 'object',
          additionalProperties: false,
          properties: {
            serial: { type: 'string', description: 'serial console device (ttyS0)' },
            baud: { type: 'integer', description: 'serial speed', minimum: 1200 },
            serial_only: { type: 'boolean', description: 'no console on the screen (headless)' },
          },
        },
        overlays: {
          type: 'array',
          items: { type: 'string' },
          description: 'project directories copied over the root (default: variants/overlays/<name> if it exists)',
        },
      },
    },
    signing: {
      type: 'object',
      additionalProperties: false,
      required: ['certificate'],
      description: 'Secure Boot: UKIs and systemd-boot are signed with the db key',
      properties: {
        certificate: {
          type: 'string',
          description: 'project path of the db certificate (PEM); its SHA-256 fingerprint enters the sign nodes\' keys',
        },
        key: {
          type: 'string',
          description: 'path of the db private key (never stored or logged); PIPELINE_SECUREBOOT_KEY overrides it',
        },
        enroll: {
          type: 'string',
          description: 'project directory of the PK/KEK/db .auth files the secure-boot test enrolls (pipeline keys init makes them)',
        },
      },
    },
    tests: {
      type: 'object',
      additionalProperties: false,
      properties: {
        scenarios: {
          type: 'array',
          items: { type: 'string', enum: ['uefi', 'bios', 'uefi-disk', 'bios-disk', 'secure-boot', 'slot-b', 'install', 'update', 'update-broken', 'update-refused'] },
          description: 'boot scenarios `pipeline test` runs (default: all)',
        },
        commands: {
          type: 'array',
          items: { $ref: '#/$defs/testCommand' },
          description: 'commands run in the live root shell; each must exit 0 (and print what `expect` says)',
        },
      },
    },
  },
  $defs: {
    step: {
      type: 'object',
      additionalProperties: false,
      required: ['run'],
      properties: {
        run: {
          type: 'array',
          minItems: 1,
          items: { type: 'string' },
          description: 'command and arguments; the first word is a host tool found on PATH. $OUT is the output directory, $DEP_<NAME> each dependency\'s output',
        },
        inputs: {
          type: 'array',
          items: { type: 'string' },
          description: 'project files or directories the step reads (relative to the project root)',
        },
        after: {
          type: 'array',
          items: { type: 'string' },
          description: 'steps (by name) or node ids whose output this step reads',
        },
        env: {
          type: 'object',
          additionalProperties: { type: 'string' },
          description: 'fixed environment variables',
        },
        weight: { type: 'integer', minimum: 1, description: 'job slots the step takes' },
        publish: { type: 'boolean', description: 'copy the output to out/<variant>/<step>/' },
      },
    },
    repository: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'mirror', 'path'],
      properties: {
        name: { type: 'string', description: 'short name (main, community)', pattern: '^[a-z0-9-]+$' },
        mirror: {
          type: 'string',
          description: 'which mirror serves it (a key of `mirrors`, or given with --mirror)',
          pattern: '^[a-z0-9-]+$',
        },
        path: { type: 'string', description: 'path under the mirror, without the arch (v3.23/main)' },
      },
    },
    rpmRepository: {
      type: 'object',
      additionalProperties: false,
      required: ['name', 'mirror', 'path'],
      properties: {
        name: { type: 'string', description: 'short name (baseos, appstream)', pattern: '^[a-z0-9-]+$' },
        mirror: {
          type: 'string',
          description: 'which mirror serves it (a key of `mirrors`, or given with --mirror)',
          pattern: '^[a-z0-9-]+$',
        },
        path: { type: 'string', description: 'path under the mirror of the directory holding repodata/ (10/BaseOS/x86_64/os)' },
        priority: { type: 'integer', minimum: 1, maximum: 99, description: 'lower wins, like dnf (default 99)' },
      },
    },
    packageFile: {
      type: 'object',
      additionalProperties: false,
      required: ['package', 'path'],
      properties: {
        package: { type: 'string' },
        path: { type: 'string', description: 'path inside the package, without a leading /' },
      },
    },
    user: {
      type: 'object',
      additionalProperties: false,
      required: ['name'],
      properties: {
        name: { type: 'string', pattern: '^[a-z_][a-z0-9_-]*$' },
        uid: { type: 'integer', minimum: 1 },
        groups: { type: 'array', items: { type: 'string' }, description: 'supplementary groups' },
        shell: { type: 'string' },
        home: { type: 'string' },
        password: { type: 'string', description: 'password hash for /etc/shadow (default: locked)' },
      },
    },
    testCommand: {
      type: 'object',
      additionalProperties: false,
      required: ['run'],
      properties: {
        run: { type: 'string', description: 'shell command' },
        expect: { type: 'string', description: 'a regular expression its output must match' },
      },
    },
  },
} as const satisfies Schema;

/** A variant file, as written (snake_case keys). */
export type Variant = SchemaType<typeof VARIANT_SCHEMA>;
