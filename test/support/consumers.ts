/**
 * Real consumers for the deployment artifacts Tessera renders (docker run arguments and env-files, compose.yaml,
 * Kubernetes Deployment/Secret/ConfigMap, External Secrets Operator objects), for tests to prove them with:
 *
 * - engines: Docker Engine (rootful dockerd on unix:///run/docker.sock), docker-compose v1, rootful podman,
 *   podman-compose and `podman kube play`, all running the tiny local image {@link IMAGE} (no registry);
 * - validators: the compose-spec JSON schema (shipped in npm `dclint`), kubernetes-models (core) and
 *   @kubernetes-models/external-secrets (external-secrets.io/v1), plus the checks the Kubernetes API server
 *   would make that those schemas cannot (unknown fields, names, keys);
 * - `kubectl kustomize`, which runs offline.
 *
 * `bash scripts/setup-containers.sh` installs and starts the engines and builds the image;
 * `bash scripts/teardown-containers.sh` stops the dockerd it started. Gate tests with {@link requireComponent}:
 * a missing component skips them on a developer's machine and fails the run in CI.
 */
import { spawnSync } from "node:child_process";
import { randomBytes } from "node:crypto";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { tmpdir } from "node:os";
import { dirname, join, resolve } from "node:path";
import { type TestOptions, test } from "node:test";
import { fileURLToPath } from "node:url";
import YAML, { isMap, isPair, isScalar, isSeq, Scalar, visit } from "yaml";

const require = createRequire(import.meta.url);
const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), "..", "..");

/** A parsed YAML/JSON mapping, read loosely. */
type Obj = Record<string, unknown>;
const isObj = (value: unknown): value is Obj =>
  value !== null && typeof value === "object" && !Array.isArray(value);
/** `value` if it is a mapping, else an empty one. */
const obj = (value: unknown): Obj => (isObj(value) ? value : {});
/** `value` if it is a sequence, else an empty one. */
const list = (value: unknown): unknown[] => (Array.isArray(value) ? value : []);
/** The value at a path of keys (undefined where the path breaks off). */
const dig = (value: unknown, ...keys: string[]): unknown =>
  keys.reduce<unknown>((here, key) => (isObj(here) ? here[key] : undefined), value);

/** The local image both engines have (built by scripts/setup-containers.sh from Debian's static busybox). */
export const IMAGE = "localhost/tessera-busybox:test";
/** Where scripts/setup-containers.sh starts dockerd; every helper here talks to it. */
export const DOCKER_HOST = "unix:///run/docker.sock";
/** The script that installs and starts what these helpers need. */
export const SETUP_SCRIPT = "scripts/setup-containers.sh";

// ---------------------------------------------------------------------------------------------------------------
// Running the tools

export interface RunOptions {
  cwd?: string;
  /** Variables for the spawned CLI, over the test's own environment (undefined removes one). This is where
   * `docker run -e NAME` takes NAME's value from. */
  env?: Record<string, string | undefined>;
  input?: string | Buffer;
  /** Milliseconds before the command is killed (default 120 000). */
  timeout?: number;
  /** Throw a readable error (command, status, stderr) unless the command exits 0. */
  check?: boolean;
  /** "buffer" returns stdout as a Buffer, byte for byte; the default is a UTF-8 string. */
  encoding?: "utf8" | "buffer";
}

export interface RunResult<Out extends string | Buffer = string> {
  /** The command line, for messages. */
  command: string;
  status: number | null;
  signal: NodeJS.Signals | null;
  stdout: Out;
  stderr: string;
}

/** A command-line tool: returns stdout as a string, or as a Buffer with `encoding: "buffer"`. */
export interface Tool {
  (args: readonly string[], options: RunOptions & { encoding: "buffer" }): RunResult<Buffer>;
  (args: readonly string[], options?: RunOptions): RunResult<string>;
}

function quoteArg(arg: string): string {
  const shown = arg.length > 120 ? `${arg.slice(0, 117)}...` : arg;
  return /^[-\w./:=@,+]+$/.test(shown) ? shown : JSON.stringify(shown);
}

function toolEnv(extra: Record<string, string | undefined> = {}): Record<string, string> {
  const env: Record<string, string> = {};
  for (const [name, value] of Object.entries({ ...process.env, DOCKER_HOST, ...extra })) {
    if (value !== undefined) env[name] = value;
  }
  return env;
}

/** Run `command ARGS` synchronously (no shell). */
export function run(
  command: string,
  args: readonly string[],
  options: RunOptions = {},
): RunResult<string | Buffer> {
  const result = spawnSync(command, args, {
    cwd: options.cwd,
    env: toolEnv(options.env),
    input: options.input ?? "",
    timeout: options.timeout ?? 120_000,
    maxBuffer: 64 * 1024 * 1024,
  });
  const stdout = options.encoding === "buffer" ? result.stdout : (result.stdout?.toString("utf8") ?? "");
  const out: RunResult<string | Buffer> = {
    command: [command, ...args].map(quoteArg).join(" "),
    status: result.status,
    signal: result.signal,
    stdout: stdout ?? Buffer.alloc(0),
    stderr: `${result.stderr?.toString("utf8") ?? ""}${result.error ? `\n${result.error.message}` : ""}`,
  };
  if (options.check && out.status !== 0) throw new Error(failure(out));
  return out;
}

/** A readable description of a failed command. */
export function failure(result: RunResult<string | Buffer>): string {
  const how = result.signal ? `was killed by ${result.signal}` : `exited with status ${result.status}`;
  const stdout = typeof result.stdout === "string" ? result.stdout : result.stdout.toString("utf8");
  const tail = (text: string) => text.trim().split("\n").slice(-25).join("\n");
  return `\`${result.command}\` ${how}\n--- stderr:\n${tail(result.stderr)}${stdout.trim() ? `\n--- stdout:\n${tail(stdout)}` : ""}`;
}

const tool = (command: string): Tool =>
  ((args: readonly string[], options?: RunOptions) => run(command, args, options)) as Tool;

/** The docker CLI, talking to {@link DOCKER_HOST}. */
export const docker = tool("docker");
/** Rootful podman (configured by /etc/containers/containers.conf from the setup script). */
export const podman = tool("podman");
/** docker-compose 1.29 (Compose v1, Python): env_file is read dotenv-style, file secrets become bind mounts. */
export const dockerCompose = tool("docker-compose");
/** podman-compose 1.0.3: passes env_file to `podman --env-file`; always adds a bridge network. */
export const podmanCompose = tool("podman-compose");
/** kubectl, offline only (`kustomize`, `create --dry-run=client`); there is no API server here. */
export const kubectl = tool("kubectl");

export type Engine = "docker" | "podman";
const engines: Record<Engine, Tool> = { docker, podman };

// ---------------------------------------------------------------------------------------------------------------
// Which components are there

const reasons = new Map<string, string>();
const probed = new Map<string, boolean>();

function probe(name: string, why: () => string | undefined): () => boolean {
  return () => {
    let ok = probed.get(name);
    if (ok === undefined) {
      const reason = why();
      ok = reason === undefined;
      if (reason !== undefined) reasons.set(name, reason);
      probed.set(name, ok);
    }
    return ok;
  };
}

function whyNot(command: string, args: readonly string[], what = ""): string | undefined {
  const result = run(command, args, { timeout: 30_000 });
  if (result.status === 0) return undefined;
  const detail = result.stderr.trim().split("\n").slice(-2).join(" ").slice(0, 300);
  return `\`${command} ${args.join(" ")}\`${what} failed: ${detail || `status ${result.status}`}`;
}

/** dockerd answers on {@link DOCKER_HOST} and has {@link IMAGE}. */
export const haveDocker = probe(
  "docker",
  () =>
    whyNot("docker", ["info", "--format", "{{.ServerVersion}}"]) ??
    whyNot("docker", ["image", "inspect", IMAGE]),
);
/** podman works and has {@link IMAGE}. */
export const havePodman = probe("podman", () =>
  whyNot("podman", ["image", "exists", IMAGE], ` (is ${IMAGE} built?)`),
);
/** docker-compose v1 is installed and the docker engine is up. */
export const haveDockerCompose = probe(
  "docker-compose",
  () =>
    whyNot("docker-compose", ["version", "--short"]) ?? (haveDocker() ? undefined : reasons.get("docker")),
);
/** podman-compose is installed and podman works. */
export const havePodmanCompose = probe(
  "podman-compose",
  () => whyNot("podman-compose", ["version"]) ?? (havePodman() ? undefined : reasons.get("podman")),
);
/** kubectl is installed (its built-in kustomize is all that is used). */
export const haveKubectl = probe("kubectl", () => whyNot("kubectl", ["version", "--client"]));

const reportedMissing = new Set<string>();

/**
 * Options for `test()`/`describe()` that gate on a component, e.g.
 * `describe("docker run", requireComponent("docker", haveDocker), () => { ... })`.
 *
 * When `check` fails: outside CI the tests are skipped, with a message naming the setup script. In CI
 * (`CI=true`) a missing component is a failure: a failing test "NAME is installed (required in CI)" is
 * registered right there (once per component and file), with the reason, and the gated tests are skipped.
 * The probes `haveDocker` etc. record why a component is missing under their own name.
 */
export function requireComponent(name: string, check: boolean | (() => boolean)): TestOptions {
  if (typeof check === "function" ? check() : check) return {};
  const reason = `${name} is not available${reasons.has(name) ? `: ${reasons.get(name)}` : ""}`;
  if (process.env.CI === "true") {
    if (!reportedMissing.has(name)) {
      reportedMissing.add(name);
      test(`${name} is installed (required in CI)`, () => {
        throw new Error(`${reason}\nCI must run \`bash ${SETUP_SCRIPT}\` before the tests.`);
      });
    }
    return { skip: `${reason} (reported as a failure in CI)` };
  }
  return { skip: `${reason}; run \`bash ${SETUP_SCRIPT}\` (root or sudo) to test against it` };
}

// ---------------------------------------------------------------------------------------------------------------
// Looking inside a container, byte for byte

/**
 * The busybox shell script the dump commands run. It prints, base64-encoded, the environment the container's
 * process was started with (`/proc/PID/environ` of the shell itself, not the shell's re-export, which would drop
 * names such as `my-var` or `a.b` and add SHLVL/PWD), then each requested file (a directory: its files), with
 * mode and owner. It has no `$(` and no `$$`, so Kubernetes' `$(VAR)` expansion leaves it alone; it must not end
 * with the command that reads environ (ash would exec that in place of the shell).
 */
const DUMP_SCRIPT = [
  "read -r pid rest < /proc/self/stat",
  "echo @@ENV",
  'base64 "/proc/$pid/environ"',
  'emit() { ls -lnL "$1" | { read -r perm links uid gid rest; echo "@@FILE $perm $uid $gid $1"; }; base64 "$1"; }',
  'for p in "$@"; do',
  '  if [ -d "$p" ]; then for f in "$p"/* "$p"/.[!.]*; do if [ -f "$f" ]; then emit "$f"; fi; done',
  '  elif [ -f "$p" ]; then emit "$p"',
  '  else echo "@@MISSING $p"; fi',
  "done",
  "echo @@END",
].join("\n");

/** argv that makes a container of {@link IMAGE} print its environment and the given files (see {@link parseDump}). */
export function dumpCommand(paths: readonly string[] = []): string[] {
  return ["sh", "-c", DUMP_SCRIPT, "tessera-dump", ...paths];
}

export interface ContainerFile {
  data: Buffer;
  /** As `ls -l` shows it, e.g. `-r--r--r--`. */
  mode: string;
  uid: number;
  gid: number;
}

export interface Dump {
  /** The container process's environment, name → exact bytes of the value. */
  env: Map<string, Buffer>;
  /** Path → file. */
  files: Map<string, ContainerFile>;
  /** Requested paths that did not exist. */
  missing: string[];
}

/** Parse what {@link dumpCommand} printed (lines may carry a prefix such as compose's `app_1  | `). */
export function parseDump(output: string): Dump {
  const dump: Dump = { env: new Map(), files: new Map(), missing: [] };
  const start = output.indexOf("@@ENV");
  if (start < 0 || !output.includes("@@END")) {
    throw new Error(`no complete environment dump in the container's output:\n${output.slice(0, 2000)}`);
  }
  let section:
    | { kind: "env" }
    | { kind: "file"; path: string; mode: string; uid: number; gid: number }
    | null = null;
  let chunks: string[] = [];
  const finish = () => {
    const data = Buffer.from(chunks.join(""), "base64");
    chunks = [];
    if (section?.kind === "env") {
      for (const record of data.toString("latin1").split("\0")) {
        if (record === "") continue;
        const eq = record.indexOf("=");
        const name = Buffer.from(eq < 0 ? record : record.slice(0, eq), "latin1").toString("utf8");
        dump.env.set(name, Buffer.from(eq < 0 ? "" : record.slice(eq + 1), "latin1"));
      }
    } else if (section?.kind === "file") {
      dump.files.set(section.path, { data, mode: section.mode, uid: section.uid, gid: section.gid });
    }
    section = null;
  };
  for (const raw of output.slice(start).split("\n")) {
    const line = raw.replace(/\r$/, "");
    const at = line.indexOf("@@");
    const marker = at >= 0 ? line.slice(at) : "";
    if (marker === "@@ENV") {
      finish();
      section = { kind: "env" };
    } else if (marker.startsWith("@@FILE ")) {
      finish();
      const [, mode = "", uid = "", gid = "", ...path] = marker.split(" ");
      section = { kind: "file", path: path.join(" "), mode, uid: Number(uid), gid: Number(gid) };
    } else if (marker.startsWith("@@MISSING ")) {
      finish();
      dump.missing.push(marker.slice("@@MISSING ".length));
    } else if (marker === "@@END") {
      finish();
      break;
    } else if (section) {
      const match = /[A-Za-z0-9+/=]+$/.exec(line);
      if (match) chunks.push(match[0]);
    }
  }
  return dump;
}

/**
 * `ENGINE run --rm --network none ARGS IMAGE <dump>`: the environment and files as the container sees them.
 * `args` are extra run arguments (`--env-file F`, `-e NAME`, `-e NAME=value`, `-v ...`, `--secret ...`).
 */
export function dumpContainer(
  engine: Engine,
  args: readonly string[],
  paths: readonly string[] = [],
  options: RunOptions = {},
): Dump {
  const result = engines[engine](
    ["run", "--rm", "--network", "none", ...args, IMAGE, ...dumpCommand(paths)],
    {
      ...options,
      check: true,
    },
  );
  return parseDump(result.stdout);
}

/**
 * The values of the environment variables `names` in a container started with `args` (see {@link dumpContainer}),
 * byte for byte; a name the container does not have is absent from the map. Without `names`, all variables.
 * `options.env` is the environment of the docker/podman CLI itself, where `-e NAME` takes its value from.
 */
export function envInContainer(
  engine: Engine,
  args: readonly string[],
  names?: readonly string[],
  options: RunOptions = {},
): Map<string, Buffer> {
  const { env } = dumpContainer(engine, args, [], options);
  if (!names) return env;
  return new Map(names.flatMap((name) => (env.has(name) ? [[name, env.get(name)!] as const] : [])));
}

/** The exact contents of files in a container started with `args`; a directory path (e.g. `/run/secrets`)
 * stands for the files in it. Paths that do not exist are absent from the map. */
export function filesInContainer(
  engine: Engine,
  args: readonly string[],
  paths: readonly string[] = ["/run/secrets"],
  options: RunOptions = {},
): Map<string, Buffer> {
  const { files } = dumpContainer(engine, args, paths, options);
  return new Map([...files].map(([path, file]) => [path, file.data]));
}

// ---------------------------------------------------------------------------------------------------------------
// Compose

function scratchDir(): string {
  return mkdtempSync(join(tmpdir(), "tessera-consumer-"));
}

/** Compose interpolates `$VAR` in every string: double each `$` to pass it through literally. */
export function composeEscape(text: string): string {
  return text.replaceAll("$", "$$$$");
}

export interface ComposeService extends Dump {
  exitCode: number;
  /** The container's stdout. */
  log: string;
}

export interface ComposeOptions {
  /** The project directory (where relative env_file and secret paths are resolved). */
  dir: string;
  /** Compose files, relative to `dir` (default `compose.yaml`). */
  files?: readonly string[];
  /** Files (or directories, e.g. /run/secrets) to read in every service's container. */
  paths?: readonly string[];
  /** Environment of the compose CLI (used for `${VAR}` interpolation). */
  env?: Record<string, string | undefined>;
  timeout?: number;
}

/**
 * `up` a compose project with docker-compose v1 or podman-compose, with every service's image replaced by
 * {@link IMAGE}, its command by the dump command and `restart: "no"` (plus `network_mode: none` on docker when
 * the service names no networks; podman-compose cannot do without its bridge network), then return what each
 * service's container saw, and `down` it. Services with `build:` or an `entrypoint:` are not supported.
 */
export function composeUp(
  runner: "docker-compose" | "podman-compose",
  options: ComposeOptions,
): Map<string, ComposeService> {
  const files = options.files ?? ["compose.yaml"];
  const services = new Map<string, Record<string, unknown>>();
  for (const file of files) {
    const doc = YAML.parse(readFileSync(join(options.dir, file), "utf8")) as {
      services?: Record<string, unknown>;
    };
    for (const [name, service] of Object.entries(doc?.services ?? {})) {
      services.set(name, { ...(services.get(name) ?? {}), ...(service as Record<string, unknown>) });
    }
  }
  const override: Record<string, Record<string, unknown>> = {};
  for (const [name, service] of services) {
    override[name] = {
      image: IMAGE,
      command: dumpCommand(options.paths ?? []).map(composeEscape),
      restart: "no",
      ...(runner === "docker-compose" && service.networks === undefined && service.network_mode === undefined
        ? { network_mode: "none" }
        : {}),
    };
  }
  const scratch = scratchDir();
  const overrideFile = join(scratch, "tessera-override.yaml");
  // JSON is YAML too, and quotes every string: YAML.stringify writes `restart: no`, which YAML 1.1 readers
  // (docker-compose v1, podman-compose) take for the boolean false.
  writeFileSync(overrideFile, JSON.stringify({ services: override }, null, 2));
  const project = `tessera${randomBytes(4).toString("hex")}`;
  const cli = runner === "docker-compose" ? dockerCompose : podmanCompose;
  const engine = runner === "docker-compose" ? docker : podman;
  const base = ["-p", project, ...files.flatMap((file) => ["-f", file]), "-f", overrideFile];
  const runOptions = { cwd: options.dir, env: options.env, timeout: options.timeout ?? 120_000 };
  try {
    const up = cli([...base, "up", "--no-color"], runOptions);
    // podman-compose 1.0.3 exits 0 even when a podman command failed: the containers are the evidence
    const found = new Map<string, ComposeService>();
    for (const name of services.keys()) {
      const ids = engine(
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
      ).stdout.trim();
      const id = ids.split("\n")[0];
      if (!id) throw new Error(`${runner} started no container for service ${name}\n${failure(up)}`);
      const log = engine(["logs", id], { check: true }).stdout;
      const exitCode = Number(
        engine(["inspect", "--format", "{{.State.ExitCode}}", id], { check: true }).stdout,
      );
      found.set(name, { ...parseDump(log), exitCode, log });
    }
    return found;
  } finally {
    cli([...base, "down"], { ...runOptions, timeout: 60_000 });
    if (runner === "podman-compose") podman(["network", "rm", "-f", `${project}_default`]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

// ---------------------------------------------------------------------------------------------------------------
// podman kube play

export interface KubeContainer extends Dump {
  exitCode: number;
  log: string;
}

export interface KubePlayResult {
  /** `WORKLOAD/CONTAINER` (workload = the Deployment's or Pod's metadata.name) → what it saw. */
  containers: Map<string, KubeContainer>;
  /** Documents not played (kinds podman cannot run, such as ExternalSecret), as `Kind/name`. */
  ignored: string[];
}

const PLAYABLE = new Set(["Pod", "Deployment"]);

/**
 * Run Kubernetes manifests with `podman kube play --network none` and report what each container saw.
 *
 * Following what podman 4.3 can do: each `Secret` becomes a podman secret of the same name holding the JSON map
 * of base64 values (stringData is encoded), because a Secret inside the played YAML is stored as raw YAML and
 * `secretKeyRef` then fails ("not valid JSON", podman#16269); each `ConfigMap` is passed with `--configmap`.
 * Pods and Deployments are played with every container's image set to {@link IMAGE}, its command to the dump
 * command (`paths` are the files to read), `imagePullPolicy: Never` and `restartPolicy: Never` (a Deployment
 * must say Always, which would restart the dump forever). Secret volumes make podman 4.3 panic (nil pointer in
 * VolumeFromSecret), so they are refused. Everything is torn down afterwards, podman secrets included.
 * Podman secrets and pods are host-wide: tests using the same names must not run at the same time.
 */
export function podmanKubePlay(
  yamlText: string,
  options: { paths?: readonly string[]; timeout?: number } = {},
): KubePlayResult {
  const parsed = YAML.parseAllDocuments(yamlText);
  const docs = parsed.map((doc): unknown => doc.toJS());
  const scratch = scratchDir();
  const secrets = new Map<string, Record<string, string>>();
  const configMaps: string[] = [];
  const workloads: Obj[] = [];
  const ignored: string[] = [];
  for (const [index, doc] of docs.entries()) {
    if (!isObj(doc)) continue;
    const kind = String(doc.kind);
    const name = String(dig(doc, "metadata", "name"));
    if (kind === "Secret") {
      const data: Record<string, string> = {};
      for (const [key, value] of Object.entries(obj(doc.data))) data[key] = String(value);
      for (const [key, value] of Object.entries(obj(doc.stringData))) {
        data[key] = Buffer.from(String(value), "utf8").toString("base64");
      }
      secrets.set(name, data);
    } else if (kind === "ConfigMap") {
      // The ConfigMap's own text, as written: podman's (Go) YAML reader is the one that reads the values.
      const range = parsed[index]!.contents?.range;
      const file = join(scratch, `configmap-${configMaps.length}.yaml`);
      writeFileSync(file, range ? yamlText.slice(range[0], range[2]) : yamlJson(doc));
      configMaps.push(file);
    } else if (PLAYABLE.has(kind)) {
      const copy = structuredClone(doc);
      const spec = kind === "Pod" ? dig(copy, "spec") : dig(copy, "spec", "template", "spec");
      if (!isObj(spec)) throw new Error(`${kind}/${name} has no pod spec`);
      if (list(spec.volumes).some((volume) => dig(volume, "secret") !== undefined)) {
        throw new Error(`${kind}/${name}: podman 4.3 kube play panics on secret volumes (VolumeFromSecret)`);
      }
      spec.restartPolicy = "Never";
      for (const container of [...list(spec.initContainers), ...list(spec.containers)]) {
        if (!isObj(container)) continue;
        container.image = IMAGE;
        container.imagePullPolicy = "Never";
        container.command = dumpCommand(options.paths ?? []);
        delete container.args;
      }
      workloads.push(copy);
    } else {
      ignored.push(`${kind}/${name}`);
    }
  }
  const playFile = join(scratch, "play.yaml");
  writeFileSync(playFile, workloads.map((doc) => yamlJson(doc)).join("\n---\n"));
  const created: string[] = [];
  try {
    for (const [name, data] of secrets) {
      // `podman secret create NAME -` wants stdin to be a FIFO; Node's pipes are socketpairs. Use a file.
      const file = join(scratch, `secret-${created.length}.json`);
      writeFileSync(file, JSON.stringify(data), { mode: 0o600 });
      podman(["secret", "rm", name]);
      podman(["secret", "create", name, file], { check: true });
      created.push(name);
    }
    const play = podman(
      ["kube", "play", "--network", "none", ...configMaps.flatMap((file) => ["--configmap", file]), playFile],
      { check: true, timeout: options.timeout ?? 120_000 },
    );
    const podIds = [...play.stdout.matchAll(/^Pod:\n([0-9a-f]{12,64})$/gm)].map((match) => match[1]!);
    const containers = new Map<string, KubeContainer>();
    for (const podId of podIds) {
      const podName = podman(["pod", "inspect", "--format", "{{.Name}}", podId], {
        check: true,
      }).stdout.trim();
      const workload = workloads
        .map((doc) => String(dig(doc, "metadata", "name")))
        .find((name) => name === podName || `${name}-pod-0` === podName);
      const listed = podman(
        ["ps", "-a", "--filter", `pod=${podId}`, "--format", "{{.ID}} {{.IsInfra}} {{.Names}}"],
        { check: true },
      ).stdout;
      const members = listed
        .trim()
        .split("\n")
        .map((line) => line.split(" "))
        .filter(([, infra]) => infra === "false");
      if (members.length > 0) {
        podman(["wait", ...members.map(([id]) => id!)], { check: true, timeout: options.timeout ?? 60_000 });
      }
      for (const [id, , name] of members) {
        const containerName = name!.startsWith(`${podName}-`) ? name!.slice(podName.length + 1) : name!;
        const log = podman(["logs", id!], { check: true }).stdout;
        const exitCode = Number(
          podman(["inspect", "--format", "{{.State.ExitCode}}", id!], { check: true }).stdout,
        );
        const key = `${workload ?? podName}/${containerName}`;
        containers.set(key, { ...parseDump(log), exitCode, log });
      }
    }
    return { containers, ignored };
  } finally {
    podman(["kube", "down", playFile], { timeout: 60_000 });
    for (const name of created) podman(["secret", "rm", name]);
    rmSync(scratch, { recursive: true, force: true });
  }
}

/**
 * JSON for a YAML reader: JSON is YAML, except that JSON.stringify leaves U+0085, U+2028 and U+2029 raw, and
 * a YAML 1.1 reader (go-yaml, PyYAML) folds those line breaks inside a quoted string into a space.
 */
export function yamlJson(value: unknown): string {
  return JSON.stringify(value).replace(
    /[\u0085\u2028\u2029]/g,
    (c) => `\\u${c.charCodeAt(0).toString(16).padStart(4, "0")}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// kustomize

/** `kubectl kustomize DIR` (offline); throws on failure; returns the rendered YAML. */
export function kustomizeBuild(dir: string): string {
  return kubectl(["kustomize", dir], { check: true, timeout: 60_000 }).stdout;
}

// ---------------------------------------------------------------------------------------------------------------
// YAML 1.1 (kubectl's sigs.k8s.io/yaml, docker-compose v1's PyYAML) versus YAML 1.2 (what `yaml` parses)

const YAML11_BOOL = /^(y|Y|yes|Yes|YES|n|N|no|No|NO|on|On|ON|off|Off|OFF)$/;
const YAML11_OCTAL = /^[-+]?0[0-7]+$/;
const YAML11_SEXAGESIMAL = /^[-+]?[0-9][0-9_]*(:[0-5]?[0-9])+(\.[0-9_]*)?$/;
const YAML11_UNDERSCORE_NUMBER = /^[-+]?(0b[01_]+|0x[0-9a-fA-F_]+|[0-9][0-9_]*(\.[0-9_]*)?)$/;

/**
 * Plain (unquoted) scalars that a YAML 1.1 reader takes differently from YAML 1.2: `on`/`yes`/`n`… are booleans,
 * `0400` is octal 256, `1:20` is 80, `1_000` is 1000. kubectl and the API server (go-yaml v2) and
 * docker-compose v1 (PyYAML) read YAML 1.1; a renderer must quote such strings (and write modes in decimal).
 */
function yaml11Differences(doc: YAML.Document.Parsed): string[] {
  const found: string[] = [];
  visit(doc, {
    Scalar(_key, node, path) {
      if (node.type !== Scalar.PLAIN || typeof node.source !== "string") return;
      const text = node.source;
      let what: string | undefined;
      if (YAML11_BOOL.test(text)) what = "a boolean";
      else if (YAML11_OCTAL.test(text)) what = `octal ${Number.parseInt(text, 8)} (write it in decimal)`;
      else if (YAML11_SEXAGESIMAL.test(text)) what = "a base-60 number";
      else if (text.includes("_") && YAML11_UNDERSCORE_NUMBER.test(text)) what = "a number";
      if (what)
        found.push(
          `${yamlPath(path, node)}: plain ${JSON.stringify(text)} is ${what} in YAML 1.1; quote a string`,
        );
    },
  });
  return found;
}

function yamlPath(path: readonly unknown[], node: unknown): string {
  const parts: string[] = [];
  const chain = [...path, node];
  for (let i = 0; i < chain.length; i++) {
    const here = chain[i];
    const next = chain[i + 1];
    if (isPair(here)) {
      const key = isScalar(here.key) ? String(here.key.value) : "?";
      parts.push(next === here.key ? `${key} (key)` : key);
    } else if (isSeq(here) && next !== undefined) {
      parts.push(`[${here.items.indexOf(next as never)}]`);
    } else if (isMap(here)) {
      // the Pair below names the key
    }
  }
  return parts.join(".").replaceAll(".[", "[") || "(document)";
}

// ---------------------------------------------------------------------------------------------------------------
// Compose validation

type AjvError = { instancePath: string; message?: string; params: Record<string, unknown> };
type Validate = ((data: unknown) => boolean) & {
  errors?: AjvError[] | null;
};
let composeValidator: Validate | undefined;

function composeSchema(): Validate {
  if (composeValidator) return composeValidator;
  const { Ajv } = require("ajv") as typeof import("ajv");
  const addFormats = require("ajv-formats") as typeof import("ajv-formats").default;
  const schema = JSON.parse(
    readFileSync(join(ROOT, "node_modules/dclint/schemas/compose.schema.json"), "utf8"),
  );
  // "https://json-schema.org/draft-07/schema" is not a meta-schema id ajv knows; the content is draft-07
  delete schema.$schema;
  const ajv = new Ajv({ strict: false, allErrors: true });
  addFormats(ajv);
  for (const format of ["duration", "ports", "expose"]) ajv.addFormat(format, true);
  composeValidator = ajv.compile(schema) as Validate;
  return composeValidator;
}

function ajvMessage(error: AjvError): string {
  const extra = error.params?.additionalProperty ?? error.params?.allowedValues;
  return `${error.instancePath || "/"}: ${error.message}${extra === undefined ? "" : ` (${JSON.stringify(extra)})`}`;
}

/**
 * Validate a compose file against the compose-spec JSON schema (from npm `dclint`), and check what the schema
 * cannot: every secret/config/network a service names is declared at the top level, and no plain scalar reads
 * differently in YAML 1.1 (docker-compose v1). Returns the errors (empty: valid).
 */
export function validateCompose(yamlText: string): string[] {
  const doc = YAML.parseDocument(yamlText, { merge: true });
  if (doc.errors.length > 0) return doc.errors.map((error) => `YAML: ${error.message}`);
  const data = obj(doc.toJS({ maxAliasCount: 1000 }));
  const validate = composeSchema();
  const errors = validate(data) ? [] : (validate.errors ?? []).map(ajvMessage);
  for (const [name, service] of Object.entries(obj(data.services))) {
    if (!isObj(service)) continue;
    for (const kind of ["secrets", "configs"] as const) {
      for (const entry of list(service[kind])) {
        const source = typeof entry === "string" ? entry : dig(entry, "source");
        if (typeof source === "string" && !Object.hasOwn(obj(data[kind]), source)) {
          errors.push(
            `/services/${name}/${kind}: ${kind.slice(0, -1)} ${JSON.stringify(source)} is not declared`,
          );
        }
      }
    }
    const networks = Array.isArray(service.networks) ? service.networks : Object.keys(obj(service.networks));
    for (const network of networks) {
      if (network !== "default" && !Object.hasOwn(obj(data.networks), String(network))) {
        errors.push(`/services/${name}/networks: network ${JSON.stringify(network)} is not declared`);
      }
    }
  }
  errors.push(...yaml11Differences(doc));
  return errors;
}

// ---------------------------------------------------------------------------------------------------------------
// Kubernetes validation

export interface KubeDocResult {
  /** 0-based position among the YAML documents. */
  index: number;
  apiVersion?: string;
  kind?: string;
  name?: string;
  errors: string[];
}

type Model = { new (data: unknown): { validate(): void } };
const models = new Map<string, { model: Model; typesFile: string } | null>();

/** The model module for apiVersion/kind, from kubernetes-models or @kubernetes-models/external-secrets. */
async function loadModel(apiVersion: string, kind: string) {
  const key = `${apiVersion}/${kind}`;
  if (models.has(key)) return models.get(key);
  const [group, version] = apiVersion.includes("/") ? apiVersion.split("/") : ["", apiVersion];
  const specifier = group!.endsWith("external-secrets.io")
    ? `@kubernetes-models/external-secrets/${group}/${version}/${kind}`
    : `kubernetes-models/${group ? `${group}/` : ""}${version}/${kind}`;
  let found: { model: Model; typesFile: string } | null = null;
  try {
    const url = import.meta.resolve(specifier);
    const module = (await import(url)) as Record<string, Model>;
    if (module[kind])
      found = { model: module[kind], typesFile: fileURLToPath(url).replace(/\.js$/, ".d.ts") };
  } catch {
    found = null;
  }
  models.set(key, found);
  return found;
}

// A reader for the generated .d.ts files of kubernetes-models: enough TypeScript to know each type's fields.
type TypeNode =
  | { kind: "object"; props: Map<string, TypeNode>; index?: TypeNode }
  | { kind: "array"; of: TypeNode }
  | { kind: "ref"; name: string; file: string }
  | { kind: "leaf" };
const LEAF: TypeNode = { kind: "leaf" };
const PRIMITIVES = new Set([
  "string",
  "number",
  "boolean",
  "any",
  "unknown",
  "object",
  "null",
  "undefined",
  "true",
  "false",
  "never",
]);

interface TypesFile {
  imports: Map<string, { specifier: string; name: string }>;
  aliases: Map<string, string>;
  types: Map<string, TypeNode>;
}
const typesFiles = new Map<string, TypesFile>();

function parseTypesFile(file: string): TypesFile {
  const cached = typesFiles.get(file);
  if (cached) return cached;
  const text = readFileSync(file, "utf8")
    .replace(/\/\*[\s\S]*?\*\//g, " ")
    .replace(/\/\/[^\n]*/g, " ");
  const tokens = text.match(/"(?:[^"\\]|\\.)*"|[A-Za-z_$][\w$]*|\d+(?:\.\d+)?|\S/g) ?? [];
  const parsed: TypesFile = { imports: new Map(), aliases: new Map(), types: new Map() };
  let i = 0;
  const peek = () => tokens[i];
  const next = () => tokens[i++];
  const expect = (token: string) => {
    if (tokens[i] !== token) throw new Error(`${file}: expected ${token} at token ${i}, found ${tokens[i]}`);
    i++;
  };
  const skipBalanced = (open: string, close: string) => {
    let depth = 0;
    do {
      const token = next();
      if (token === open) depth++;
      else if (token === close) depth--;
    } while (depth > 0 && i < tokens.length);
  };
  const parseMembers = (): TypeNode => {
    const props = new Map<string, TypeNode>();
    let index: TypeNode | undefined;
    expect("{");
    while (peek() !== "}" && i < tokens.length) {
      if (peek() === "[") {
        next();
        next();
        expect(":");
        parseType();
        expect("]");
        expect(":");
        index = parseType();
      } else {
        const raw = next()!;
        const key = raw.startsWith('"') ? (JSON.parse(raw) as string) : raw;
        if (peek() === "?") next();
        if (peek() === "(") {
          skipBalanced("(", ")");
        }
        expect(":");
        props.set(key, parseType());
      }
      if (peek() === ";" || peek() === ",") next();
    }
    expect("}");
    return index ? { kind: "object", props, index } : { kind: "object", props };
  };
  const parsePrimary = (): TypeNode => {
    const token = next()!;
    let node: TypeNode;
    if (token === "{") {
      i--;
      node = parseMembers();
    } else if (token === "(") {
      node = parseType();
      expect(")");
    } else if (token.startsWith('"') || /^\d/.test(token)) {
      node = LEAF;
    } else if (token === "Array" && peek() === "<") {
      next();
      node = { kind: "array", of: parseType() };
      expect(">");
    } else if (PRIMITIVES.has(token)) {
      node = LEAF;
    } else {
      node = { kind: "ref", name: token, file };
      if (peek() === "<") {
        skipBalanced("<", ">");
        node = LEAF;
      }
      if (peek() === "[" && tokens[i + 1]?.startsWith('"')) {
        i += 3; // I_["kind"]: an indexed access, a literal
        node = LEAF;
      }
    }
    while (peek() === "[" && tokens[i + 1] === "]") {
      i += 2;
      node = { kind: "array", of: node };
    }
    return node;
  };
  const parseType = (): TypeNode => {
    if (peek() === "|") next();
    const first = parsePrimary();
    let union = false;
    while (peek() === "|") {
      next();
      parsePrimary();
      union = true;
    }
    return union ? LEAF : first;
  };
  while (i < tokens.length) {
    const token = next();
    if (token === "import" && peek() === "{") {
      next();
      const names: [string, string][] = [];
      while (peek() !== "}") {
        const name = next()!;
        let local = name;
        if (peek() === "as") {
          next();
          local = next()!;
        }
        names.push([local, name]);
        if (peek() === ",") next();
      }
      next();
      if (peek() === "from") {
        next();
        const specifier = JSON.parse(next()!) as string;
        for (const [local, name] of names) parsed.imports.set(local, { specifier, name });
      }
    } else if (token === "export" && peek() === "interface") {
      next();
      const name = next()!;
      while (peek() !== "{") next();
      parsed.types.set(name, parseMembers());
    } else if (token === "export" && peek() === "type" && tokens[i + 1] === "{") {
      next();
      next();
      while (peek() !== "}") {
        const name = next()!;
        if (peek() === "as") {
          next();
          parsed.aliases.set(next()!, name);
        }
        if (peek() === ",") next();
      }
    } else if (token === "export" && peek() === "type") {
      next();
      const name = next()!;
      if (peek() === "<") skipBalanced("<", ">");
      expect("=");
      parsed.types.set(name, parseType());
    } else if (token === "declare" && peek() === "class") {
      while (peek() !== "{") next();
      skipBalanced("{", "}");
    }
  }
  typesFiles.set(file, parsed);
  return parsed;
}

function resolveRef(name: string, file: string, depth = 0): TypeNode {
  if (depth > 10) return LEAF;
  const parsed = parseTypesFile(file);
  const local = parsed.types.get(name) ?? parsed.types.get(parsed.aliases.get(name) ?? "");
  if (local) return local.kind === "ref" ? resolveRef(local.name, local.file, depth + 1) : local;
  const imported = parsed.imports.get(name);
  if (!imported) return LEAF;
  let target: string;
  if (imported.specifier.startsWith(".")) {
    target = resolve(dirname(file), imported.specifier).replace(/\.js$/, ".d.ts");
  } else {
    try {
      target = fileURLToPath(import.meta.resolve(imported.specifier)).replace(/\.js$/, ".d.ts");
    } catch {
      return LEAF; // e.g. @kubernetes-models/base's TypeMeta
    }
  }
  return resolveRef(imported.name, target, depth + 1);
}

/** Every field of `value` must be declared by `type` (kubectl's default strict field validation). */
function unknownFields(value: unknown, type: TypeNode, path: string, errors: string[]): void {
  if (type.kind === "ref") {
    unknownFields(value, resolveRef(type.name, type.file), path, errors);
  } else if (type.kind === "array") {
    for (const [index, item] of list(value).entries())
      unknownFields(item, type.of, `${path}[${index}]`, errors);
  } else if (type.kind === "object" && isObj(value)) {
    for (const [key, child] of Object.entries(value)) {
      const field = path ? `${path}.${key}` : key;
      const known = type.props.get(key) ?? type.index;
      if (known) unknownFields(child, known, field, errors);
      else errors.push(`unknown field ${JSON.stringify(field)}`);
    }
  }
}

// The API server's own rules (k8s.io/apimachinery/pkg/util/validation), which no OpenAPI schema carries.
const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
const DNS1123_SUBDOMAIN = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$/;
const DNS1035_LABEL = /^[a-z]([-a-z0-9]*[a-z0-9])?$/;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const LABEL_VALUE = /^(([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9])?$/;
const CONFIG_MAP_KEY = /^[-._a-zA-Z0-9]+$/;
/** The classic rule (before RelaxedEnvironmentVariableValidation), which every cluster accepts. */
const ENV_VAR_NAME = /^[-._a-zA-Z][-._a-zA-Z0-9]*$/;

/** The name and key rules, for tests that want to check a renderer's output directly. */
export const kubeRules = { DNS1123_LABEL, DNS1123_SUBDOMAIN, DNS1035_LABEL, CONFIG_MAP_KEY, ENV_VAR_NAME };

function checkSubdomain(value: unknown, field: string, errors: string[]): void {
  if (typeof value !== "string") return;
  if (value.length > 253 || !DNS1123_SUBDOMAIN.test(value)) {
    errors.push(
      `${field}: Invalid value ${JSON.stringify(value)}: a lowercase RFC 1123 subdomain must consist of lower case alphanumeric characters, '-' or '.', and must start and end with an alphanumeric character`,
    );
  }
}

function checkLabel(value: unknown, field: string, errors: string[], rule = DNS1123_LABEL): void {
  if (typeof value !== "string") return;
  if (value.length > 63 || !rule.test(value)) {
    const rfc = rule === DNS1035_LABEL ? "1035" : "1123";
    errors.push(
      `${field}: Invalid value ${JSON.stringify(value)}: must be a lowercase RFC ${rfc} label (at most 63)`,
    );
  }
}

function checkQualifiedName(key: string, field: string, errors: string[]): void {
  const slash = key.lastIndexOf("/");
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix) checkSubdomain(prefix, `${field} (prefix of ${JSON.stringify(key)})`, errors);
  if (prefix === "" || name.length === 0 || name.length > 63 || !QUALIFIED_NAME.test(name)) {
    errors.push(
      `${field}: Invalid value ${JSON.stringify(key)}: name part must consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)`,
    );
  }
}

function checkDataKey(key: string, field: string, errors: string[]): void {
  if (key.length > 253 || !CONFIG_MAP_KEY.test(key) || key === "." || key === ".." || key.startsWith("..")) {
    errors.push(
      `${field}: Invalid value ${JSON.stringify(key)}: a valid config key must consist of alphanumeric characters, '-', '_' or '.'`,
    );
  }
}

function checkEnvName(name: unknown, field: string, errors: string[]): void {
  if (typeof name !== "string") return;
  if (!ENV_VAR_NAME.test(name)) {
    errors.push(
      `${field}: Invalid value ${JSON.stringify(name)}: a valid environment variable name must consist of alphabetic characters, digits, '_', '-', or '.', and must not start with a digit`,
    );
  }
}

const NAME_RULE: Record<string, "label" | "dns1035" | "subdomain"> = {
  Namespace: "label",
  Service: "dns1035",
};
const ALWAYS_RESTART = new Set(["Deployment", "ReplicaSet", "StatefulSet", "DaemonSet"]);

function checkContainerEnv(container: Obj, field: string, errors: string[]): void {
  for (const [e, env] of list(container.env).entries()) {
    const at = `${field}.env[${e}]`;
    checkEnvName(dig(env, "name"), `${at}.name`, errors);
    const from = dig(env, "valueFrom");
    if (!isObj(from)) continue;
    if (dig(env, "value"))
      errors.push(`${at}.valueFrom: Invalid value: may not be specified when \`value\` is not empty`);
    const sources = Object.keys(from);
    if (sources.length !== 1) {
      errors.push(
        `${at}.valueFrom: Invalid value: must specify exactly one of the sources (found ${sources.length})`,
      );
    }
    for (const ref of ["secretKeyRef", "configMapKeyRef"]) {
      if (!isObj(from[ref])) continue;
      checkSubdomain(from[ref].name, `${at}.valueFrom.${ref}.name`, errors);
      const key = from[ref].key;
      if (typeof key === "string") checkDataKey(key, `${at}.valueFrom.${ref}.key`, errors);
    }
  }
  for (const [e, source] of list(container.envFrom).entries()) {
    const at = `${field}.envFrom[${e}]`;
    const refs = ["secretRef", "configMapRef"].filter((ref) => isObj(dig(source, ref)));
    if (refs.length !== 1)
      errors.push(`${at}: Invalid value: must have exactly one of secretRef and configMapRef`);
    for (const ref of refs) checkSubdomain(dig(source, ref, "name"), `${at}.${ref}.name`, errors);
    const prefix = dig(source, "prefix");
    if (prefix !== undefined && prefix !== "") checkEnvName(prefix, `${at}.prefix`, errors);
  }
}

function checkPodSpec(spec: Obj, at: string, kind: string, errors: string[]): void {
  if (ALWAYS_RESTART.has(kind) && spec.restartPolicy !== undefined && spec.restartPolicy !== "Always") {
    errors.push(
      `${at}.restartPolicy: Unsupported value ${JSON.stringify(spec.restartPolicy)}: supported values: "Always"`,
    );
  }
  const volumes = new Set<unknown>();
  for (const [v, volume] of list(spec.volumes).entries()) {
    const field = `${at}.volumes[${v}]`;
    const name = dig(volume, "name");
    checkLabel(name, `${field}.name`, errors);
    if (volumes.has(name)) errors.push(`${field}.name: Duplicate value ${JSON.stringify(name)}`);
    volumes.add(name);
    checkSubdomain(dig(volume, "secret", "secretName"), `${field}.secret.secretName`, errors);
    checkSubdomain(dig(volume, "configMap", "name"), `${field}.configMap.name`, errors);
  }
  const names = new Set<unknown>();
  for (const group of ["initContainers", "containers"]) {
    for (const [c, container] of list(spec[group]).entries()) {
      const field = `${at}.${group}[${c}]`;
      if (!isObj(container)) continue;
      checkLabel(container.name, `${field}.name`, errors);
      if (names.has(container.name))
        errors.push(`${field}.name: Duplicate value ${JSON.stringify(container.name)}`);
      names.add(container.name);
      if (!container.image) errors.push(`${field}.image: Required value`);
      checkContainerEnv(container, field, errors);
      for (const [m, mount] of list(container.volumeMounts).entries()) {
        const name = dig(mount, "name");
        if (name !== undefined && !volumes.has(name)) {
          errors.push(`${field}.volumeMounts[${m}].name: Not found: ${JSON.stringify(name)}`);
        }
      }
    }
  }
}

function checkMetadata(meta: Obj, kind: string, errors: string[]): void {
  if (meta.name === undefined && meta.generateName === undefined) {
    errors.push("metadata.name: Required value: name or generateName is required");
  }
  const rule = NAME_RULE[kind] ?? "subdomain";
  if (rule === "subdomain") checkSubdomain(meta.name, "metadata.name", errors);
  else checkLabel(meta.name, "metadata.name", errors, rule === "dns1035" ? DNS1035_LABEL : DNS1123_LABEL);
  checkLabel(meta.namespace, "metadata.namespace", errors);
  for (const [key, value] of Object.entries(obj(meta.labels))) {
    checkQualifiedName(key, "metadata.labels", errors);
    if (typeof value === "string" && (value.length > 63 || !LABEL_VALUE.test(value))) {
      errors.push(
        `metadata.labels: Invalid value ${JSON.stringify(value)}: a valid label must be an empty string or consist of alphanumeric characters, '-', '_' or '.', and must start and end with an alphanumeric character (at most 63)`,
      );
    }
  }
  for (const key of Object.keys(obj(meta.annotations)))
    checkQualifiedName(key, "metadata.annotations", errors);
}

/** Rules the API server applies beyond the OpenAPI schema (for the kinds Tessera renders). */
function serverChecks(doc: Obj, errors: string[]): void {
  const kind = String(doc.kind);
  if (!isObj(doc.metadata)) {
    errors.push("metadata: Required value");
    return;
  }
  checkMetadata(doc.metadata, kind, errors);
  if (kind === "ConfigMap" || kind === "Secret") {
    const seen = new Set<string>();
    for (const field of kind === "ConfigMap" ? ["data", "binaryData"] : ["data", "stringData"]) {
      for (const key of Object.keys(obj(doc[field]))) {
        checkDataKey(key, `${field}[${key}]`, errors);
        if (kind === "ConfigMap" && seen.has(key))
          errors.push(`data[${key}]: Invalid value: duplicate of a key in binaryData`);
        seen.add(key);
      }
    }
  }
  const [spec, at] =
    kind === "Pod"
      ? [dig(doc, "spec"), "spec"]
      : kind === "CronJob"
        ? [dig(doc, "spec", "jobTemplate", "spec", "template", "spec"), "spec.jobTemplate.spec.template.spec"]
        : [dig(doc, "spec", "template", "spec"), "spec.template.spec"];
  if (isObj(spec)) checkPodSpec(spec, at, kind, errors);
  const matchLabels = dig(doc, "spec", "selector", "matchLabels");
  if (ALWAYS_RESTART.has(kind) && isObj(matchLabels)) {
    const labels = obj(dig(doc, "spec", "template", "metadata", "labels"));
    if (Object.entries(matchLabels).some(([key, value]) => labels[key] !== value)) {
      errors.push(
        "spec.template.metadata.labels: Invalid value: `selector` does not match template `labels`",
      );
    }
  }
  if (kind === "ExternalSecret") {
    checkSubdomain(dig(doc, "spec", "target", "name"), "spec.target.name", errors);
    checkSubdomain(dig(doc, "spec", "secretStoreRef", "name"), "spec.secretStoreRef.name", errors);
    for (const [d, item] of list(dig(doc, "spec", "data")).entries()) {
      const key = dig(item, "secretKey");
      if (typeof key === "string") checkDataKey(key, `spec.data[${d}].secretKey`, errors);
    }
  }
}

/**
 * Validate every document of a Kubernetes manifest (multi-document YAML) with: the kubernetes-models or
 * @kubernetes-models/external-secrets model of its apiVersion and kind (types, required fields, enums, formats);
 * strict unknown-field checking, like kubectl's default (the fields come from the models' type declarations);
 * the API server's rules for names, labels, data keys, env var names, env sources, Deployment restartPolicy and
 * selector; and YAML 1.1 differences (see {@link validateCompose}). Returns one result per non-empty document;
 * a document is valid when its `errors` is empty.
 */
export async function validateKubernetes(yamlText: string): Promise<KubeDocResult[]> {
  const results: KubeDocResult[] = [];
  for (const [index, doc] of YAML.parseAllDocuments(yamlText).entries()) {
    const errors: string[] = doc.errors.map((error) => `YAML: ${error.message}`);
    const value: unknown = errors.length === 0 ? doc.toJS() : undefined;
    if (errors.length === 0 && (value === null || value === undefined)) continue;
    const result: KubeDocResult = { index, errors };
    results.push(result);
    if (errors.length > 0) continue;
    if (!isObj(value)) {
      errors.push("a document must be a mapping");
      continue;
    }
    const { apiVersion, kind } = value;
    const name = dig(value, "metadata", "name");
    Object.assign(result, { apiVersion, kind, name: typeof name === "string" ? name : undefined });
    if (typeof apiVersion !== "string" || typeof kind !== "string") {
      errors.push("apiVersion and kind are required strings");
      continue;
    }
    if (/^external-secrets\.io\/v1(alpha|beta)1$/.test(apiVersion)) {
      // the packages still model them, but current External Secrets Operator CRDs have them served: false
      errors.push(
        `apiVersion ${apiVersion} is not served by current External Secrets Operator releases; use external-secrets.io/v1`,
      );
    }
    const found = await loadModel(apiVersion, kind);
    if (!found) {
      errors.push(`no model for ${apiVersion} ${kind} (unknown kind, or a version the packages do not have)`);
      continue;
    }
    try {
      new found.model(value).validate();
    } catch (error) {
      const message = String((error as Error).message);
      errors.push(...message.split(/,\s+(?=data\/|data )/).map((line) => line.trim()));
    }
    unknownFields(value, { kind: "ref", name: `I${kind}`, file: found.typesFile }, "", errors);
    serverChecks(value, errors);
    errors.push(...yaml11Differences(doc));
  }
  return results;
}

/** The errors of {@link validateKubernetes} as text, one block per invalid document (empty when all are valid). */
export function describeKubeErrors(results: readonly KubeDocResult[]): string {
  return results
    .filter((result) => result.errors.length > 0)
    .map(
      (result) =>
        `${result.apiVersion} ${result.kind}/${result.name} (document ${result.index}):\n  ${result.errors.join("\n  ")}`,
    )
    .join("\n");
}
