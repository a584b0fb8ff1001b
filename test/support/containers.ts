/**
 * Containers that run Tessera itself, and users to run things as, for test/e2e/containers.test.ts:
 *
 * - the example image (examples/container/Dockerfile) built offline: its `>>> … <<<` block (FROM node:22 and
 *   `npm install --global` of Tessera's package) is replaced by the local busybox image ({@link IMAGE}) plus,
 *   copied into the build context, this machine's node binary and the shared libraries it links (sh and env stay BusyBox's, as in Alpine)
 *   (as `ldd` lists them), and Tessera's built bin/ and dist/ where `npm install --global` puts them
 *   (/usr/local/lib/node_modules/tessera, linked from /usr/local/bin/tessera); everything after the block is
 *   the example's own, so the image runs `ENTRYPOINT ["tessera", "run", "--"]` as user 1000;
 * - `up` of a compose project whose services' fields the test overrides (image, command, user), returning
 *   each container's output and exit code;
 * - the building user: as root, an unprivileged uid ({@link BUILDER}) owns the project and runs `tessera
 *   build`, as a deployer would; other users' access on the host is tried with {@link runAs}.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import {
  chmodSync,
  chownSync,
  copyFileSync,
  mkdirSync,
  mkdtempSync,
  readdirSync,
  readFileSync,
  realpathSync,
  rmSync,
  statSync,
  symlinkSync,
  writeFileSync,
} from "node:fs";
import { tmpdir } from "node:os";
import { dirname, join } from "node:path";
import YAML from "yaml";
import { CLI, cleanEnv, type Result, ROOT } from "../helpers.ts";
import {
  docker,
  dockerCompose,
  type Engine,
  failure,
  IMAGE,
  podman,
  podmanCompose,
  run,
} from "./consumers.ts";

const engines = { docker, podman };

// ---------------------------------------------------------------------------------------------------------------
// Users

export interface User {
  uid: number;
  gid: number;
}

const isRoot = process.getuid?.() === 0;

/** Whether this process can act as other users (it is root): the host-side access checks need it. */
export const canSwitchUsers = isRoot;

/**
 * Who runs `tessera build`: as root, uid/gid 1234, neither root nor the containers' user 1000 (a deployer
 * account); otherwise this process's own user.
 */
export const BUILDER: User = isRoot
  ? { uid: 1234, gid: 1234 }
  : { uid: process.getuid?.() ?? 0, gid: process.getgid?.() ?? 0 };

/** Give `dir` (and what is in it) to the builder, readable and searchable by everyone (as a home directory
 * often is), so that only the modes Tessera sets keep other users out. */
export function handToBuilder(dir: string): void {
  const walk = (path: string) => {
    chownSync(path, BUILDER.uid, BUILDER.gid);
    if (statSync(path).isDirectory()) for (const entry of readdirSync(path)) walk(join(path, entry));
  };
  if (isRoot) walk(dir);
  chmodSync(dir, 0o755);
}

/** `tessera ARGS` in `cwd` as the builder (see {@link BUILDER}). */
export function tesseraAsBuilder(
  args: readonly string[],
  options: { cwd: string; env?: Record<string, string | undefined> },
): Result {
  // The builder's own cache and config directory: the one cleanEnv makes belongs to this process's user.
  const home = mkdtempSync(join(tmpdir(), "tessera-builder-home-"));
  if (isRoot) chownSync(home, BUILDER.uid, BUILDER.gid);
  try {
    const result = spawnSync(process.execPath, ["--", CLI, ...args], {
      cwd: options.cwd,
      env: cleanEnv({ HOME: home, TESSERA_CACHE_DIR: home, XDG_CONFIG_HOME: home, ...options.env }),
      input: "",
      encoding: "utf8",
      timeout: 120_000, // a hang guard only
      ...(isRoot ? { uid: BUILDER.uid, gid: BUILDER.gid } : {}),
    });
    return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
  } finally {
    rmSync(home, { recursive: true, force: true });
  }
}

/** `command ARGS` as `user` (root only), with no supplementary groups. */
export function runAs(user: User, command: string, args: readonly string[]): Result {
  if (!isRoot) throw new Error("runAs needs root");
  const result = spawnSync(command, args, {
    uid: user.uid,
    gid: user.gid,
    env: { PATH: process.env.PATH ?? "/usr/bin:/bin", LANG: "C" },
    encoding: "utf8",
    timeout: 60_000,
  });
  return { status: result.status, signal: result.signal, stdout: result.stdout, stderr: result.stderr };
}

// ---------------------------------------------------------------------------------------------------------------
// The example image, built offline

/** examples/container: its Dockerfile, manifest and app. */
export const EXAMPLE = join(ROOT, "examples", "container");

const BLOCK = /^# >>>[^\n]*\n[\s\S]*?^# <<<[^\n]*\n/m;

/** What replaces the example Dockerfile's `>>> … <<<` block in the offline build. */
export const OFFLINE_BLOCK = `# (offline stand-in for node:22 + npm install --global: the local busybox image, this machine's node,
# the libraries it links, and Tessera's built bin/ and dist/ where npm would put them)
FROM ${IMAGE}
COPY rootfs/ /
ENV PATH=/usr/local/bin:/usr/bin:/bin
`;

/** The example Dockerfile split around its install block: what comes before and after it is kept as is. */
export function splitDockerfile(text: string): { before: string; block: string; after: string } {
  const match = BLOCK.exec(text);
  if (!match) throw new Error("examples/container/Dockerfile has no `# >>> … # <<<` block");
  if (BLOCK.test(text.slice(match.index + match[0].length))) {
    throw new Error("examples/container/Dockerfile has more than one `# >>> … # <<<` block");
  }
  return {
    before: text.slice(0, match.index),
    block: match[0],
    after: text.slice(match.index + match[0].length),
  };
}

/** The example's Dockerfile with its install block replaced by {@link OFFLINE_BLOCK}. */
export function offlineDockerfile(): string {
  const { before, after } = splitDockerfile(readFileSync(join(EXAMPLE, "Dockerfile"), "utf8"));
  return `${before}${OFFLINE_BLOCK}${after}`;
}

/** The shared libraries `ldd` lists for `binary` (absolute paths, as the loader looks them up). */
function sharedLibraries(binary: string): string[] {
  const result = run("ldd", [binary], { check: true });
  const out = typeof result.stdout === "string" ? result.stdout : result.stdout.toString("utf8");
  return [...out.matchAll(/(?:=>\s*)?(\/\S+)\s+\(0x[0-9a-f]+\)/g)].map((match) => match[1]!);
}

function copyInto(rootfs: string, from: string, to = from, mode?: number): void {
  const target = join(rootfs, to);
  mkdirSync(dirname(target), { recursive: true });
  copyFileSync(realpathSync(from), target);
  if (mode !== undefined) chmodSync(target, mode);
}

/** The build context: the offline Dockerfile, the example's files, and rootfs/ (see the module comment). */
function exampleContext(): string {
  const context = mkdtempSync(join(tmpdir(), "tessera-image-"));
  writeFileSync(join(context, "Dockerfile"), offlineDockerfile());
  for (const entry of readdirSync(EXAMPLE)) {
    if (entry !== "Dockerfile" && entry !== "README.md")
      copyFileSync(join(EXAMPLE, entry), join(context, entry));
  }
  const rootfs = join(context, "rootfs");
  const node = realpathSync(process.execPath);
  // No GNU env: the image's sh and env are BusyBox's, as in Alpine, and the launcher must start there.
  copyInto(rootfs, node, "/usr/local/bin/node", 0o755);
  for (const library of new Set(sharedLibraries(node))) copyInto(rootfs, library);
  const pkg = "/usr/local/lib/node_modules/tessera-cli";
  copyInto(rootfs, join(ROOT, "package.json"), `${pkg}/package.json`);
  copyInto(rootfs, join(ROOT, "bin", "tessera.cjs"), `${pkg}/bin/tessera.cjs`, 0o755);
  for (const file of readdirSync(join(ROOT, "dist"))) {
    if (file.endsWith(".cjs")) copyInto(rootfs, join(ROOT, "dist", file), `${pkg}/dist/${file}`);
  }
  symlinkSync("../lib/node_modules/tessera-cli/bin/tessera.cjs", join(rootfs, "usr/local/bin/tessera"));
  return context;
}

/** Build the example image offline with `engine` under a unique tag; returns the tag. Remove it with
 * {@link removeImage}. */
export function buildExampleImage(engine: Engine): string {
  const tag = `localhost/tessera-greeter:${randomBytes(4).toString("hex")}`;
  const context = exampleContext();
  try {
    const args =
      engine === "docker"
        ? ["build", "--force-rm", "--quiet", "--tag", tag, context]
        : ["build", "--pull=never", "--layers=false", "--quiet", "--tag", tag, context];
    // The classic builder takes FROM from the local images; BuildKit would ask the registry `localhost`.
    engines[engine](args, { check: true, timeout: 600_000, env: { DOCKER_BUILDKIT: "0" } });
    return tag;
  } finally {
    rmSync(context, { recursive: true, force: true });
  }
}

export function removeImage(engine: Engine, tag: string): void {
  engines[engine](["rmi", "--force", tag], { timeout: 60_000 });
}

// ---------------------------------------------------------------------------------------------------------------
// Compose

export interface ComposeContainer {
  exitCode: number;
  /** The container's stdout. */
  log: string;
  /** Its stderr. */
  errors: string;
}

/**
 * `up` a compose project (`files` in `dir`) with docker-compose v1 or podman-compose, each service's fields
 * overridden by `overrides[service]` in one more compose file (plus `restart: "no"`, and `network_mode: none`
 * on docker; podman-compose always adds its bridge network); returns what each container printed and its exit
 * code, then takes the project down. Strings in overrides are passed to compose as they are: write `$$` for `$`.
 */
export function composeUpWith(
  runner: "docker-compose" | "podman-compose",
  options: {
    dir: string;
    files?: readonly string[];
    overrides: Record<string, Record<string, unknown>>;
    timeout?: number;
  },
): Map<string, ComposeContainer> {
  const files = options.files ?? ["compose.yaml"];
  const services = new Set<string>();
  for (const file of files) {
    const doc = YAML.parse(readFileSync(join(options.dir, file), "utf8")) as { services?: object };
    for (const name of Object.keys(doc?.services ?? {})) services.add(name);
  }
  const override: Record<string, Record<string, unknown>> = {};
  for (const name of services) {
    override[name] = {
      restart: "no",
      ...(runner === "docker-compose" ? { network_mode: "none" } : {}),
      ...options.overrides[name],
    };
  }
  const scratch = mkdtempSync(join(tmpdir(), "tessera-compose-"));
  const overrideFile = join(scratch, "override.yaml");
  // JSON is YAML, and quotes every string (`restart: no` would be the boolean false to a YAML 1.1 reader).
  writeFileSync(overrideFile, JSON.stringify({ services: override }, null, 2));
  const project = `tesseraex${randomBytes(4).toString("hex")}`;
  const cli = runner === "docker-compose" ? dockerCompose : podmanCompose;
  const engine = runner === "docker-compose" ? docker : podman;
  const base = ["-p", project, ...files.flatMap((file) => ["-f", file]), "-f", overrideFile];
  const runOptions = { cwd: options.dir, timeout: options.timeout ?? 300_000 };
  try {
    const up = cli([...base, "up", "--no-color"], runOptions);
    // podman-compose 1.0.3 exits 0 even when a podman command failed: the containers are the evidence
    const found = new Map<string, ComposeContainer>();
    for (const name of services) {
      const id = engine(
        [
          "ps",
          "-a",
          "-q",
          "--filter",
          `label=com.docker.compose.project=${project}`,
          "--filter",
          `label=com.docker.compose.service=${name}`,
        ],
        { check: true },
      )
        .stdout.trim()
        .split("\n")[0];
      if (!id) throw new Error(`${runner} started no container for service ${name}\n${failure(up)}`);
      const logs = engine(["logs", id], { check: true });
      const exitCode = Number(
        engine(["inspect", "--format", "{{.State.ExitCode}}", id], { check: true }).stdout,
      );
      found.set(name, { exitCode, log: logs.stdout, errors: logs.stderr });
    }
    return found;
  } finally {
    cli([...base, "down"], { ...runOptions, timeout: 120_000 });
    if (runner === "podman-compose") podman(["network", "rm", "-f", `${project}_default`]);
    rmSync(scratch, { recursive: true, force: true });
  }
}
