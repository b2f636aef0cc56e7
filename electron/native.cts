/**
 * Native modules for the desktop app: better-sqlite3 talks to V8 directly, so its binary must match the runtime
 * that loads it — Node for the CLI and tests, Electron for the desktop window (a different NODE_MODULE_VERSION).
 * sharp and tfjs-node use N-API and need no rebuild.
 *
 * `npm install` builds for Node. The desktop build is made only on demand (`npm run desktop`, through
 * build/rebuild-native.mjs), never by `npm install`, and a marker next to the binary records which runtime it was
 * built for, with the binary's hash so that a later `npm rebuild` (which silently turns it back into a Node build)
 * is noticed. electron-builder makes its own rebuild inside the package, so packaging does not depend on this.
 */
import { type SpawnSyncOptions, spawnSync } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readFileSync, renameSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export type Runtime = 'electron' | 'node';

export interface Target {
  runtime: Runtime;
  /** Electron's or Node's version. */
  version: string;
  /** NODE_MODULE_VERSION. */
  abi: string;
  platform: string;
  arch: string;
}

export interface Marker extends Target {
  sha256: string;
}

export interface ElectronInstall {
  version: string;
  abi: string;
  /** The Electron executable, or null when the package is there without its binary. */
  binary: string | null;
}

/** Works on all Node versions the CLI supports; version 4 of @electron/rebuild needs Node ≥ 22.12. */
export const ELECTRON_REBUILD = '@electron/rebuild@3.7.1';
const MODULE = 'better-sqlite3';

export const nativeFile = (root: string): string =>
  join(root, 'node_modules', MODULE, 'build', 'Release', 'better_sqlite3.node');
export const markerFile = (root: string): string =>
  join(root, 'node_modules', MODULE, 'build', 'Release', 'xwb-runtime.json');

/** What the optional `electron` package installed: version, ABI, and the binary if its download worked. */
export function electronInstall(root: string): ElectronInstall | { error: string } {
  const dir = join(root, 'node_modules', 'electron');
  const pkgFile = join(dir, 'package.json');
  if (!existsSync(pkgFile)) {
    return {
      error:
        `${dir} is missing: the optional "electron" package is not installed (npm skips it when its install ` +
        'script cannot download the Electron binary). Install it where Electron releases can be downloaded, ' +
        'or use the web mode: npx xwb serve',
    };
  }
  const version = (JSON.parse(readFileSync(pkgFile, 'utf8')) as { version?: unknown }).version;
  if (typeof version !== 'string') return { error: `${pkgFile} has no version` };
  const abiFile = join(dir, 'abi_version');
  const abi = existsSync(abiFile) ? readFileSync(abiFile, 'utf8').trim() : '';
  if (!/^\d+$/.test(abi)) return { error: `${abiFile} is missing or unreadable: cannot tell Electron's ABI` };
  // The package records the executable's path inside dist/ in path.txt once its binary is downloaded.
  // Read it rather than `require('electron')`, which would start a download.
  const pathFile = join(dir, 'path.txt');
  const rel = existsSync(pathFile) ? readFileSync(pathFile, 'utf8').trim() : '';
  const binary = rel ? join(dir, 'dist', rel) : '';
  return { version, abi, binary: binary && existsSync(binary) ? binary : null };
}

export function electronTarget(e: ElectronInstall, platform = process.platform, arch = process.arch): Target {
  return { runtime: 'electron', version: e.version, abi: e.abi, platform, arch };
}

export function nodeTarget(): Target {
  return {
    runtime: 'node',
    version: process.versions.node,
    abi: process.versions.modules,
    platform: process.platform,
    arch: process.arch,
  };
}

export function sha256File(file: string): string | null {
  return existsSync(file) ? createHash('sha256').update(readFileSync(file)).digest('hex') : null;
}

export function readMarker(file: string): Marker | null {
  if (!existsSync(file)) return null;
  try {
    const m = JSON.parse(readFileSync(file, 'utf8')) as Record<string, unknown>;
    const fields = ['version', 'abi', 'platform', 'arch', 'sha256'] as const;
    if ((m.runtime !== 'electron' && m.runtime !== 'node') || fields.some((k) => typeof m[k] !== 'string')) {
      return null;
    }
    return m as unknown as Marker;
  } catch {
    return null;
  }
}

export function writeMarker(file: string, marker: Marker): void {
  const tmp = `${file}.${process.pid}.tmp`;
  writeFileSync(tmp, `${JSON.stringify(marker, null, 2)}\n`);
  renameSync(tmp, file);
}

/**
 * Which runtime the binary on disk is for. A marker whose hash no longer matches the binary (or no marker) means
 * npm built it, i.e. for the Node running npm; `nodeNow` is that Node.
 */
export function currentBuild(marker: Marker | null, sha: string | null, nodeNow: Target): Target | null {
  if (sha === null) return null;
  if (marker && marker.sha256 === sha) return marker;
  return nodeNow;
}

export function sameTarget(a: Target | null, b: Target): boolean {
  return (
    a !== null &&
    a.runtime === b.runtime &&
    a.abi === b.abi &&
    a.platform === b.platform &&
    a.arch === b.arch &&
    (a.runtime === 'node' || a.version === b.version)
  );
}

export function describe(t: Target | null): string {
  if (!t) return 'not built';
  return `${t.runtime === 'electron' ? 'Electron' : 'Node'} ${t.version} (ABI ${t.abi}, ${t.platform}-${t.arch})`;
}

export interface Command {
  command: string;
  args: string[];
}

export function rebuildCommand(target: Target, root: string, platform = process.platform): Command {
  const win = platform === 'win32';
  if (target.runtime === 'node') return { command: win ? 'npm.cmd' : 'npm', args: ['rebuild', MODULE] };
  return {
    command: win ? 'npx.cmd' : 'npx',
    args: [
      '--yes',
      ELECTRON_REBUILD,
      '--version',
      target.version,
      '--only',
      MODULE,
      '--force',
      '--module-dir',
      root,
    ],
  };
}

export interface Options {
  runtime: Runtime;
  check: boolean;
  launch: boolean;
  dryRun: boolean;
  /** Passed to the app after `--` (e.g. --db PATH). */
  appArgs: string[];
}

export function parseArgs(argv: readonly string[]): Options {
  const o: Options = { runtime: 'electron', check: false, launch: false, dryRun: false, appArgs: [] };
  for (let i = 0; i < argv.length; i++) {
    const a = argv[i];
    if (a === '--') {
      o.appArgs = argv.slice(i + 1);
      break;
    }
    if (a === '--check') o.check = true;
    else if (a === '--launch') o.launch = true;
    else if (a === '--dry-run') o.dryRun = true;
    else if (a === '--for' || a.startsWith('--for=')) {
      const v = a === '--for' ? argv[++i] : a.slice('--for='.length);
      if (v !== 'electron' && v !== 'node')
        throw new Error(`--for must be "electron" or "node", got "${v ?? ''}"`);
      o.runtime = v;
    } else throw new Error(`unknown option "${a}". ${USAGE}`);
  }
  if (o.launch && o.runtime !== 'electron')
    throw new Error('--launch starts the desktop app: use it with --for electron');
  return o;
}

export const USAGE =
  'Usage: node build/rebuild-native.mjs [--for electron|node] [--check] [--dry-run] [--launch [-- APP ARGS]]';

export interface Io {
  out(line: string): void;
  err(line: string): void;
  run(cmd: Command, opts: SpawnSyncOptions): number;
}

export const processIo: Io = {
  out: (l) => console.log(l),
  err: (l) => console.error(l),
  run: (cmd, opts) => {
    const r = spawnSync(cmd.command, cmd.args, {
      stdio: 'inherit',
      shell: process.platform === 'win32',
      ...opts,
    });
    if (r.error) throw new Error(`${cmd.command}: ${r.error.message}`);
    return r.status ?? 1;
  },
};

/** The script's body; returns the exit code. `root` is the application root (the repository). */
export function main(argv: readonly string[], root: string, io: Io = processIo): number {
  let o: Options;
  try {
    o = parseArgs(argv);
  } catch (e) {
    io.err((e as Error).message);
    return 2;
  }
  let target: Target;
  let binary: string | null = null;
  if (o.runtime === 'electron') {
    const e = electronInstall(root);
    if ('error' in e) {
      io.err(e.error);
      return 2;
    }
    target = electronTarget(e);
    binary = e.binary;
    if (o.launch && !binary) {
      io.err(
        `The Electron ${e.version} binary is not installed (${join(root, 'node_modules', 'electron', 'dist')} is ` +
          'missing): its download failed or was skipped (ELECTRON_SKIP_BINARY_DOWNLOAD). The desktop window ' +
          'cannot start here. Reinstall electron where its releases can be downloaded ' +
          '(npm install electron), or use the web mode: npx xwb serve',
      );
      return 2;
    }
  } else target = nodeTarget();

  const file = nativeFile(root);
  const before = currentBuild(readMarker(markerFile(root)), sha256File(file), nodeTarget());
  const upToDate = sameTarget(before, target);
  io.out(`${MODULE}: built for ${describe(before)}; wanted ${describe(target)}`);
  if (o.check) return upToDate ? 0 : 1;

  if (!upToDate) {
    const cmd = rebuildCommand(target, root);
    io.out(`${o.dryRun ? 'would rebuild' : 'rebuilding'}: ${cmd.command} ${cmd.args.join(' ')}`);
    if (!o.dryRun) {
      const status = io.run(cmd, { cwd: root });
      if (status !== 0) {
        io.err(
          `the rebuild failed (exit ${status}). It needs a C++ toolchain and, for Electron, Electron's headers ` +
            "from Electron's download host; the web mode (npx xwb serve) needs neither.",
        );
        return status;
      }
      const sha = sha256File(file);
      if (!sha) {
        io.err(`${file} is missing after the rebuild`);
        return 1;
      }
      writeMarker(markerFile(root), { ...target, sha256: sha });
      if (target.runtime === 'electron') {
        io.out(
          `${MODULE} now targets Electron; the CLI and tests under Node need it back: ` +
            'node build/rebuild-native.mjs --for node',
        );
      }
    }
  }
  if (!o.launch || !binary) return 0;
  const entry = join(root, 'dist', 'electron', 'main.cjs');
  if (!existsSync(entry)) {
    io.err(`${entry} is missing: build the shell first (npm run build)`);
    return 2;
  }
  if (o.dryRun) {
    io.out(`would launch: ${binary} ${[entry, ...o.appArgs].join(' ')}`);
    return 0;
  }
  return io.run({ command: binary, args: [entry, ...o.appArgs] }, { cwd: root, shell: false });
}
