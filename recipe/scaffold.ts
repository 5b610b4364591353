// `pipeline recipe new NAME`: a commented recipe to fill in, which `recipe check` accepts as soon
// as its source is pinned.

export function recipeScaffold(name: string): string {
  return `// recipes/${name}.rhai: how ${name} is acquired, built and installed.
// Build and install run in a sandbox: no network, a clean environment, SOURCE_DATE_EPOCH set, in a
// build root made of the variant's own packages (build_deps). Paths: BUILD_DIR (scratch), OUT
// (what reaches the system: install into it), RECIPE_DIR (recipes/${name}/: patches, local files).
// Check it with \`pipeline recipe check ${name}\`; list it under \`recipes:\` in a variant to build it.
//
// To build on a common base instead (configure, make, make install), start with:
//   //! extends: base.rhai

let ctx = #{
    name: "${name}",
    version: "0.1.0",
    description: "TODO: one line saying what it is",
    license: "TODO: an SPDX expression, e.g. MIT",
    // Every download is pinned: the URL (or mirror://<name>/<path>) and the file's sha256.
    url: "TODO: https://example.org/${name}-0.1.0.tar.gz",
    sha256: "TODO: sha256 of that file (sha256sum FILE)",
};

// Packages of the variant's package source the build needs (Alpine: build-base is gcc, make, libc headers).
let build_deps = ["build-base"];
// Other recipes this one builds against (their output is installed too).
let deps = [];

fn acquire(ctx) {
    let tarball = download(ctx.url);
    extract(tarball, BUILD_DIR);
    ctx.src = join_path(BUILD_DIR, ctx.name + "-" + ctx.version);
    ctx
}

fn build(ctx) {
    shell_in(ctx.src, "./configure --prefix=/usr");
    shell_in(ctx.src, "make -j" + NPROC);
    ctx
}

fn install(ctx) {
    shell_in(ctx.src, "make install DESTDIR=$OUT");
    ctx
}
`;
}
