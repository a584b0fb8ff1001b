/**
 * Ploinky's generated secrets (`generatedSecret`, `sharedGeneratedSecret`, `{{generatedSecret:NAME}}`,
 * `{{secret:NAME}}` in runtime.resources.env): made once and kept in the workspace store, before the
 * layers are gathered, so that the store layer serves them like any other value. Never printed.
 *
 * - agent (`generatedSecret`): one value per agent and name, kept as `GENERATED__<repo>__<agent>__<NAME>`.
 * - workspace (`sharedGeneratedSecret`): one value per workspace and source name, kept as
 *   `GENERATED__<NAME>`: every agent that declares it gets the same value.
 * - persistent (`{{secret:NAME}}`): one value per workspace and name, kept as `GENERATED__<NAME>`: the
 *   fallback when no layer sets NAME (Ploinky's ensurePersistentSecret: the environment, .env, .secrets,
 *   else a value made and kept). Never under NAME itself, so that no manifest writes a name the
 *   workspace uses.
 *
 * The value is the one Ploinky would give the agent when Ploinky's master key is at hand
 * (PLOINKY_MASTER_KEY, a .env above, or .ploinky/master-key): Ploinky derives agent and shared secrets
 * from that key (HKDF), so an agent keeps its secret whichever of the two starts it. Without the key,
 * 32 random bytes in hex, as Ploinky makes its persistent secrets.
 *
 * The manifest reader (../manifest/ploinky.ts) lists what to make (`spec.ploinky.generate`) and makes
 * each declaration read its key; this module only makes sure the keys exist.
 */
import type { Diagnostic } from "../errors.js";
import { displayPath } from "../files.js";
import { type GenerateRequest, namesRead, type PloinkySpec } from "../manifest/ploinky.js";
import { effectiveDeclarations, type Spec } from "../model/spec.js";
import { findWorkspace, storeExists } from "./workspace.js";

type Env = Readonly<Record<string, string | undefined>>;

export interface GeneratedInput {
  spec: Spec;
  profile: string | undefined;
  cwd: string;
  env: Env;
  /** A one-line note for the user (stderr): what was generated, by name only. */
  notice: (text: string) => void;
  warnings?: Diagnostic[];
}

export interface GeneratedResult {
  /** The store keys made by this call (empty when every value already existed). */
  created: string[];
}

/** The requests the declarations in effect for `profile` read (a profile may not use them all). */
function needed(spec: PloinkySpec, profile: string | undefined, env: Env): GenerateRequest[] {
  const requests = spec.ploinky?.generate ?? [];
  if (!requests.length) return [];
  const read = new Set<string>();
  for (const declaration of effectiveDeclarations(spec, profile))
    for (const name of namesRead(declaration)) read.add(name);
  return requests.filter(
    (request) =>
      read.has(request.key) && !(request.scope === "persistent" && (env[request.name] ?? "").trim()),
  );
}

/**
 * Make every generated value the Spec needs for `profile` that the workspace store does not have yet.
 * Hook: in the pipeline, before the layers are gathered (the store layer then serves them).
 */
export async function ensureGeneratedSecrets(input: GeneratedInput): Promise<GeneratedResult> {
  const spec = input.spec as PloinkySpec;
  if (spec.kind !== "ploinky") return { created: [] };
  const wanted = needed(spec, input.profile, input.env);
  if (!wanted.length) return { created: [] };
  const workspace = findWorkspace(input.cwd, input.env.HOME);
  if (storeExists(workspace)) {
    const { readStore } = await import("./store.js");
    const contents = await readStore(workspace, input.env, input.cwd, input.warnings);
    if (wanted.every((request) => contents.values.has(request.key))) return { created: [] };
  }
  const crypto = await import("../crypto/ploinky-secrets.js");
  const root = crypto.ploinkyWorkspaceRoot(spec.dir, input.env);
  const seed = crypto.findPloinkyMasterSeed(root, input.env, (path) => displayPath(input.cwd, path));
  const { agent = "", repo = "" } = spec.ploinky ?? {};
  const make = (request: GenerateRequest): string => {
    if (!seed || request.scope === "persistent") return crypto.randomSecret();
    return request.scope === "workspace"
      ? crypto.derivePloinkyWorkspaceSecret(seed.seed, request.name)
      : crypto.derivePloinkyAgentSecret(seed.seed, repo, agent, request.name);
  };
  const created: string[] = [];
  const { updateStore } = await import("./write.js");
  await updateStore(
    workspace,
    { env: input.env, cwd: input.cwd, notice: input.notice, warnings: input.warnings },
    (contents) => {
      // Under the lock: another run may have made them meanwhile; what exists is never replaced.
      for (const request of wanted) {
        if (contents.values.has(request.key)) continue;
        contents.values.set(request.key, make(request)); // hex: no `$` to escape
        created.push(request.key);
      }
      return created.length > 0;
    },
  );
  if (created.length) {
    input.notice(
      `tessera: generated ${created.join(", ")} for ${spec.ploinky?.agent ?? "the agent"} into ${displayPath(input.cwd, workspace.file)} (made once, never shown${seed ? `; derived as Ploinky does from its master key in ${seed.from}` : ""})\n`,
    );
  }
  return { created };
}
