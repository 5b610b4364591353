/** Where a project keeps its recipes. */
export const RECIPES_DIR = 'recipes';

// The recipe API: every name a recipe may call or read that is not Rhai's own. `recipe check`
// reports anything else; at run time the host functions (recipe/host-functions.ts) are exactly
// these, so nothing reaches the machine except through them.

/** Host constants, as the script sees them (paths are inside the build sandbox). */
export const RECIPE_CONSTANTS = ['BUILD_DIR', 'RECIPE_DIR', 'ARCH', 'NPROC', 'OUT'] as const;

/** Host function name -> the argument counts it accepts. */
export const RECIPE_FUNCTIONS: Record<string, number[]> = {
  join_path: [2, 3, 4],
  is_file: [1],
  is_dir: [1],
  exists: [1],
  mkdir: [1],
  rm: [1],
  mv: [2],
  chmod: [2],
  ln: [2],
  read_file: [1],
  write_file: [2],
  glob_list: [1],
  basename: [1],
  dirname: [1],
  copy_file: [2],
  copy_tree_contents: [2],
  log: [1],
  warn: [1],
  shell: [1],
  shell_in: [2],
  shell_output: [1],
  shell_status: [1],
  download: [1, 2],
  verify_sha256: [2],
  extract: [2],
  github_download_release: [3],
};

/** The phases a recipe may define, in the order they run, and their probes. */
export const RECIPE_PHASES = [
  { phase: 'acquire', probe: 'is_acquired' },
  { phase: 'build', probe: 'is_built' },
  { phase: 'install', probe: 'is_installed' },
] as const;

/** Where the sandbox puts things (the constants' values). */
export const SANDBOX_PATHS = { build: '/build', out: '/out', recipe: '/recipe', tmp: '/tmp' } as const;
