/**
 * Whose manifest is this, and what may it do? The policy is an allow-list.
 *
 * A manifest from another repository (a Ploinky agent cloned under `.ploinky/repos/`, or any manifest
 * whose git repository is not the workspace's, symbolic links followed) MAY declare variables (secret
 * or config, defaults, descriptions) and read values from the workspace's layers (flags, value files,
 * the workspace store, the workspace's `.env` files) and from value files inside its own repository.
 * Everything else is refused with E_MANIFEST_UNTRUSTED unless the user widens it:
 *
 * - an `exec` source (a command on the host): only with --allow-host-env, or when the workspace's own
 *   manifest declares the same source;
 * - another store source: only when named by --secrets-from, declared the same by the workspace's own
 *   manifest, or with --allow-host-env;
 * - a file source outside its repository (an absolute path, `..` out of it, a symbolic link out of it):
 *   only with --allow-host-env.
 *
 * Whose manifest is this? A manifest from another repository (a Ploinky agent cloned under
 * `.ploinky/repos/`, or any manifest whose git repository is not the workspace's, symbolic links
 * followed) is not trusted with the host:
 *
 * - it cannot pick variables out of the host environment: an agent's manifest could otherwise list
 *   AWS_SECRET_ACCESS_KEY, GITHUB_TOKEN or SSH_AUTH_SOCK and receive them silently. The process-
 *   environment layer answers only the names the workspace's own manifest declares, and `tessera run`
 *   gives the child a pristine environment;
 * - it cannot declare variables that steer the programs Tessera starts on the host (PATH, LD_PRELOAD,
 *   NODE_OPTIONS, DOCKER_HOST, …): a default of PATH=./bin would make `tessera run -- sh run.sh` run the
 *   repository's own `sh` or `docker`;
 * - automatic value files (.env, env.yaml) are read from the workspace, not from the repository, so the
 *   repository cannot ship values that outrank yours.
 *
 * `--allow-host-env` lifts all three for a manifest you trust.
 */
import { realpathSync, statSync } from "node:fs";
import { basename, dirname, isAbsolute, resolve, sep } from "node:path";
import { type Location, TesseraError } from "../errors.js";
import {
  effectiveDeclarations,
  effectiveSources,
  isStoreSource,
  type SourceDecl,
  type Spec,
} from "../model/spec.js";

function real(path: string): string {
  try {
    return realpathSync(path);
  } catch {
    return resolve(path);
  }
}

/** The nearest directory, from `dir` upwards, with a `.git` (directory or file), if any. */
function gitRoot(dir: string): string | undefined {
  let here = real(dir);
  for (;;) {
    if (statSync(`${here}${sep}.git`, { throwIfNoEntry: false })) return here;
    const up = dirname(here);
    if (up === here) return undefined;
    here = up;
  }
}

const PLOINKY_REPOS = `${sep}.ploinky${sep}repos${sep}`;

export function isForeignManifest(manifestPath: string, workspaceRoot: string): boolean {
  const path = real(manifestPath);
  if (path.includes(PLOINKY_REPOS)) return true;
  const own = gitRoot(dirname(path));
  return own !== undefined && own !== gitRoot(workspaceRoot);
}

/** The repository a foreign manifest belongs to: `.ploinky/repos/<name>`, else its git root, else its directory. */
export function repositoryOf(manifestPath: string): string {
  const path = real(manifestPath);
  const at = path.lastIndexOf(PLOINKY_REPOS);
  if (at !== -1) {
    const rest = path.slice(at + PLOINKY_REPOS.length);
    return path.slice(0, at + PLOINKY_REPOS.length) + rest.slice(0, rest.indexOf(sep));
  }
  return gitRoot(dirname(path)) ?? dirname(path);
}

/** Whether `path` (resolved, symbolic links followed as far as it exists) lies inside `root`. */
export function staysInside(root: string, path: string): boolean {
  // A path that does not exist yet: its nearest existing parent decides, with the rest appended.
  let existing = resolve(path);
  let tail = "";
  while (!statSync(existing, { throwIfNoEntry: false }) && dirname(existing) !== existing) {
    tail = `${sep}${basename(existing)}${tail}`;
    existing = dirname(existing);
  }
  const full = real(existing) + tail;
  const base = real(root);
  return full === base || full.startsWith(base.endsWith(sep) ? base : `${base}${sep}`);
}

/** What the user allowed a foreign manifest beyond the default. */
export interface ForeignAllowance {
  /** --secrets-from: the stores named on the command line. */
  secretsFrom?: readonly string[];
  /** Sources the workspace's own manifest declares (the same declaration is the workspace's consent). */
  workspaceSources: readonly SourceDecl[];
}

/** One thing a foreign manifest declares that it may not, with where and why. */
export interface Violation {
  what: string;
  at: Location;
}

/** Same type, name and settings: the workspace declares this source itself. */
function sameSource(a: SourceDecl, b: SourceDecl): boolean {
  const settings = (source: SourceDecl) =>
    JSON.stringify(isStoreSource(source) ? source.settings : { path: source.path });
  return a.type === b.type && a.name === b.name && settings(a) === settings(b);
}

/** Everything a foreign manifest declares beyond what it may (empty: nothing to refuse). */
export function foreignViolations(
  spec: Spec,
  profile: string | undefined,
  repository: string,
  allowance: ForeignAllowance,
): Violation[] {
  const violations: Violation[] = [];
  const named = new Set(allowance.secretsFrom ?? []);
  for (const source of effectiveSources(spec, profile)) {
    const own = allowance.workspaceSources.some((candidate) => sameSource(candidate, source));
    if (!isStoreSource(source)) {
      if (isAbsolute(source.path) || !staysInside(repository, resolve(spec.dir, source.path))) {
        violations.push({
          what: `the ${source.type} source ${JSON.stringify(source.path)} reads a file outside the manifest's repository`,
          at: source.declaredAt,
        });
      }
      continue;
    }
    if (own) continue;
    if (source.type === "exec") {
      violations.push({
        what: `the exec source "${source.name}" would run a command on this host`,
        at: source.declaredAt,
      });
    } else if (!named.has(source.name)) {
      violations.push({
        what: `the ${source.type} source "${source.name}" would be read with this host's credentials`,
        at: source.declaredAt,
      });
    }
  }
  return violations;
}

/** Refuse a foreign manifest that declares more than it may, naming every place. */
export function refuseViolations(spec: Spec, violations: readonly Violation[]): void {
  if (violations.length === 0) return;
  const where = (at: Location) => `${at.file}:${at.line ?? 1}:${at.column ?? 1}`;
  throw new TesseraError(
    "E_MANIFEST_UNTRUSTED",
    `${spec.file} comes from another repository: ${violations[0]!.what}`,
    {
      location: violations[0]!.at,
      details: violations.slice(1).map((violation) => `also ${where(violation.at)}: ${violation.what}`),
      hint: "a manifest from another repository may declare variables and read files inside its own repository; name a store with --secrets-from NAME, declare the same source in your own manifest, or pass --allow-host-env if you trust it with this host",
    },
  );
}

/**
 * Whether a variable could steer a program on this host (the child, a shell, docker, a language
 * runtime, a cloud CLI) rather than only be read by the application. For a manifest from another
 * repository, only names that cannot are delivered to a process on the host: the rule is wide on
 * purpose (a false alarm names the variable and the way out; a miss runs someone else's code).
 *
 * A name steers when it is not an upper-case NAME_LIKE_THIS (http_proxy), when it is one of the names
 * below, when its first word names a runtime, shell or tool family (LD_, PYTHON…, NODE_, GO…, AWS_…),
 * or when one of its words is a configuration word (OPTIONS, FLAGS, CONFIG, INIT, RC, HOOKS, PRELOAD,
 * PATH, HOME, WRAPPER, PLUGIN…).
 */
export function steersHost(name: string): boolean {
  if (INERT.has(name)) return false;
  if (!/^[A-Z][A-Z0-9]*(_[A-Z0-9]*)*$/.test(name)) return true;
  if (STEERING_NAMES.has(name) || STEERING_PREFIXES.some((prefix) => name.startsWith(prefix))) return true;
  const words = name.split("_").filter(Boolean);
  const first = words[0] ?? name;
  if (FAMILIES.has(first) || FAMILY_STEMS.some((stem) => first.startsWith(stem))) return true;
  if (words.some((word) => CONFIG_WORDS.has(word))) return true;
  const last = words.at(-1) ?? name;
  return CONFIG_ENDINGS.some((ending) => last.endsWith(ending));
}

/** Names the rule below would catch that only describe the application's mode. */
const INERT = new Set(["NODE_ENV", "PYTHONUNBUFFERED", "PYTHONDONTWRITEBYTECODE", "PYTHONIOENCODING"]);

/** Prefixes of tool settings whose first word alone is too common to refuse. */
const STEERING_PREFIXES = [
  "PASSWORD_STORE_",
  "TS_NODE_",
  "AWS_ENDPOINT_URL",
  "AWS_CA_BUNDLE",
  "AWS_PROFILE",
  "AWS_SHARED_CREDENTIALS_FILE",
  "AWS_CONFIG_FILE",
];

/** Single names read by shells, the C library, editors and tools. */
const STEERING_NAMES = new Set([
  "HOME",
  "SHELL",
  "ENV",
  "CDPATH",
  "IFS",
  "PS1",
  "PS2",
  "PS4",
  "SHELLOPTS",
  "BASHOPTS",
  "GLOBIGNORE",
  "PROMPT_COMMAND",
  "TMPDIR",
  "TMP",
  "TEMP",
  "ZDOTDIR",
  "INPUTRC",
  "MAIL",
  "MAILPATH",
  "DISPLAY",
  "BROWSER",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "MANPAGER",
  "LESS",
  "LESSOPEN",
  "LESSCLOSE",
  "MAKEFLAGS",
  "MFLAGS",
  "MAKELEVEL",
  "GCONV_PATH",
  "LOCPATH",
  "NLSPATH",
  "HOSTALIASES",
  "LOCALDOMAIN",
  "RES_OPTIONS",
  "RESOLV_HOST_CONF",
  "CLASSPATH",
  "DOCKER",
  "KUBECONFIG",
  "CONTAINER_HOST",
  "CONTAINER_CONNECTION",
  "REGISTRY_AUTH_FILE",
  "CURL_CA_BUNDLE",
  "REQUESTS_CA_BUNDLE",
  "GNUPGHOME",
  "VIRTUAL_ENV",
  "CC",
  "CXX",
  "CPP",
  "AR",
  "LD",
  "TZDIR",
  "TERM",
  "TERMINFO",
  "COLORTERM",
  "LANG",
  "LANGUAGE",
  "USER",
  "LOGNAME",
  "SUDO_ASKPASS",
  "SSH_ASKPASS",
  "GIT_ASKPASS",
  "PWD",
  "OLDPWD",
]);

/** First words naming a runtime, shell, linker or tool whose behaviour the variable changes. */
const FAMILIES = new Set([
  "LD",
  "DYLD",
  "BASH",
  "ZSH",
  "KSH",
  "FISH",
  "NODE",
  "NPM",
  "NPX",
  "YARN",
  "PNPM",
  "COREPACK",
  "BUN",
  "DENO",
  "JAVA",
  "JDK",
  "JRE",
  "MAVEN",
  "GRADLE",
  "CGO",
  "RUSTC",
  "RUSTUP",
  "RUSTDOC",
  "CARGO",
  "PHP",
  "COMPOSER",
  "RUBYOPT",
  "RUBYLIB",
  "GEM",
  "BUNDLE",
  "BUNDLER",
  "LUA",
  "OPENSSL",
  "SSL",
  "GLIBC",
  "MALLOC",
  "DOTNET",
  "COREHOST",
  "COMPLUS",
  "CLOUDSDK",
  "GCLOUD",
  "VAULT",
  "OP",
  "KEEPASSXC",
  "GPG",
  "GNUPG",
  "SSH",
  "GIT",
  "DOCKER",
  "PODMAN",
  "CONTAINERS",
  "BUILDAH",
  "COMPOSE",
  "HELM",
  "XDG",
  "TESSERA",
  "LC",
  "HIST",
  "PIP",
  "PIPX",
  "UV",
  "POETRY",
  "CONDA",
  "PYENV",
  "NVM",
  "ELECTRON",
  "CHROME",
  "CHROMIUM",
  "GTK",
  "GDK",
  "GIO",
  "QT",
  "DBUS",
  "WAYLAND",
  "LIBGL",
  "MESA",
  "CURL",
  "WGET",
  "GODEBUG",
  "GOFLAGS",
  "GOPATH",
  "GOROOT",
  "GOPROXY",
  "GOPRIVATE",
  "GONOPROXY",
  "GONOSUMDB",
  "GOSUMDB",
  "GOINSECURE",
  "GOTOOLCHAIN",
  "GOENV",
  "GOBIN",
  "GOCACHE",
  "GOMODCACHE",
  "GOWORK",
  "GOEXPERIMENT",
  "GOVCS",
  "GOOS",
  "GOARCH",
  "GOGC",
  "GOMAXPROCS",
  "GOMEMLIMIT",
  "GOTRACEBACK",
  "GOTMPDIR",
  "GOAMD64",
]);

/** Stems a first word may start with (PYTHONPATH, PERL5LIB, RUBYOPT, KUBECTL_…, RUST…, JAVA…). */
const FAMILY_STEMS = ["PYTHON", "PERL", "RUBY", "KUBE", "RUST", "JAVA", "MAKE", "LESS", "NODE", "BASH"];

/** Words that make a name program configuration wherever they stand. */
const CONFIG_WORDS = new Set([
  "OPTIONS",
  "OPTS",
  "OPT",
  "FLAGS",
  "CONF",
  "CONFIG",
  "CONFIGS",
  "INIT",
  "RC",
  "HOOK",
  "HOOKS",
  "PRELOAD",
  "WRAPPER",
  "TUNABLES",
  "WARNINGS",
  "PATH",
  "PATHS",
  "HOME",
  "PLUGIN",
  "PLUGINS",
  "LOADER",
  "STARTUP",
  "INTERPRETER",
  "SHELL",
  "EDITOR",
  "PAGER",
  "BROWSER",
  "PROXY",
  "LIBRARY",
  "LIB",
  "LIBS",
  "MODULES",
  "ENGINES",
  "INCLUDE",
  "ASKPASS",
  "EXECUTABLE",
  "BREAKPOINT",
  "INSPECT",
]);

/** Endings of the last word that mark configuration (GOFLAGS, PHPRC, PYTHONPATH, GNUPGHOME, ZDOTDIR). */
const CONFIG_ENDINGS = ["FLAGS", "RC", "OPTS", "PATH", "HOME", "DOTDIR", "CONF"];

/**
 * Refuse to deliver a foreign manifest's variables to a process on this host when any of them could
 * steer it (see steersHost): `run`, `export`, and the docker and compose targets, whose tools read the
 * values from their own environment. Kubernetes and the External Secrets Operator deliver into a
 * container only, where such an agent belongs.
 */
export function refuseSteering(
  spec: Spec,
  profile: string | undefined,
  resolved: readonly { name: string; declaredAt?: Location }[] = [],
): void {
  // A wildcard (`LLM_MODEL_*`) is judged by the names it matched (`resolved`), not by its pattern.
  const declared = effectiveDeclarations(spec, profile).filter((declaration) => !declaration.wildcard);
  const steering = [
    ...declared,
    ...resolved.filter((variable) => !declared.some((declaration) => declaration.name === variable.name)),
  ]
    .filter((declaration) => steersHost(declaration.name))
    .map((declaration) => ({
      name: declaration.name,
      declaredAt: declaration.declaredAt ?? { file: spec.file },
    }));
  if (steering.length === 0) return;
  const names = steering.map((declaration) => declaration.name);
  throw new TesseraError(
    "E_HOST_VARIABLE",
    `${spec.file} comes from another repository and declares ${names.join(", ")}, which could steer the programs Tessera starts on this host (the command, a shell, docker)`,
    {
      location: steering[0]!.declaredAt,
      details: steering.slice(1).map((declaration) => {
        const at = declaration.declaredAt;
        return `also ${declaration.name} at ${at.file}:${at.line ?? 1}:${at.column ?? 1}`;
      }),
      hint: "deliver it to a container (build or deploy --target kubernetes), pass --allow-host-env if you trust it with this host, or ask its authors to rename the variable",
    },
  );
}
