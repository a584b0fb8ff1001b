/**
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
import { dirname, resolve, sep } from "node:path";

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

export function isForeignManifest(manifestPath: string, workspaceRoot: string): boolean {
  const path = real(manifestPath);
  if (path.includes(`${sep}.ploinky${sep}repos${sep}`)) return true;
  const own = gitRoot(dirname(path));
  return own !== undefined && own !== gitRoot(workspaceRoot);
}

/** Names read by the shell, the dynamic linker, language runtimes and the tools Tessera starts. */
const STEERING_NAMES = new Set([
  "PATH",
  "HOME",
  "SHELL",
  "ENV",
  "BASH_ENV",
  "CDPATH",
  "IFS",
  "PS4",
  "SHELLOPTS",
  "BASHOPTS",
  "GLOBIGNORE",
  "PROMPT_COMMAND",
  "TMPDIR",
  "GCONV_PATH",
  "LOCPATH",
  "HOSTALIASES",
  "RESOLV_HOST_CONF",
  "NLSPATH",
  "JAVA_TOOL_OPTIONS",
  "_JAVA_OPTIONS",
  "JDK_JAVA_OPTIONS",
  "CLASSPATH",
  "DOCKER",
  "KUBECONFIG",
  "CONTAINER_HOST",
  "CONTAINER_CONNECTION",
  "REGISTRY_AUTH_FILE",
  "SSL_CERT_FILE",
  "SSL_CERT_DIR",
  "CURL_CA_BUNDLE",
  "REQUESTS_CA_BUNDLE",
  "HTTP_PROXY",
  "HTTPS_PROXY",
  "ALL_PROXY",
  "NO_PROXY",
  "http_proxy",
  "https_proxy",
  "all_proxy",
  "no_proxy",
  "GNUPGHOME",
  "EDITOR",
  "VISUAL",
  "PAGER",
  "NODE_OPTIONS",
  "NODE_PATH",
  "NODE_EXTRA_CA_CERTS",
  "NODE_TLS_REJECT_UNAUTHORIZED",
  "NODE_ICU_DATA",
  "PYTHONPATH",
  "PYTHONHOME",
  "PYTHONSTARTUP",
  "PYTHONUSERBASE",
  "PYTHONBREAKPOINT",
  "PYTHONINSPECT",
  "PYTHONEXECUTABLE",
  "PYTHONPLATLIBDIR",
]);
const STEERING_PREFIXES = [
  "LD_",
  "DYLD_",
  "BASH_FUNC_",
  "NPM_CONFIG_",
  "npm_config_",
  "PERL",
  "RUBY",
  "GEM_",
  "DOCKER_",
  "PODMAN_",
  "CONTAINERS_",
  "BUILDAH_",
  "COMPOSE_",
  "KUBE",
  "GIT_",
  "SSH_",
  "XDG_",
  "TESSERA_",
  "MALLOC_",
];

/** Whether a variable steers the host programs that would see it (the child, a shell, docker, …). */
export function steersHost(name: string): boolean {
  return STEERING_NAMES.has(name) || STEERING_PREFIXES.some((prefix) => name.startsWith(prefix));
}
