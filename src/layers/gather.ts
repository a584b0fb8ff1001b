/**
 * Gathering the layers a resolution needs: the only module of the core that reads files and the
 * process environment. The sources, in precedence order (the first that defines a name wins):
 *
 *   --secret flags; the process environment; NAME_FILE for declared names
 *   named     what the command line names: --values FILE…, --env-file FILE…, --secrets-dir DIR…
 *             (each first given wins)
 *   profile   with --env P, what is written for P: the manifest's profile sources, env.P.yaml,
 *             .env.P.local, .env.P, then (added by the pipeline) P's external stores and profiles.P values
 *   store     the encrypted workspace store, .tessera/store.age (see ../workspace/)
 *   generic   files for every profile: the manifest's own file sources, .dockrion-env.yaml, env.yaml,
 *             .env.local, .env (a Ploinky workspace: also .env in the directories above it)
 *   then (added by the pipeline) the external stores and the manifest's defaults.
 *
 * Files found automatically live in the manifest's directory (the current directory without a
 * manifest); paths typed on the command line are relative to the current directory.
 */
import { readFileSync, statSync } from "node:fs";
import { dirname, resolve } from "node:path";
import { type Diagnostic, errnoCode, TesseraError } from "../errors.js";
import { displayPath } from "../files.js";
import { invalidNameWarning, parseDotenv, withEnvironment } from "../formats/dotenv.js";
import { dialectDiagnostics, dialectFor } from "../formats/dotenv-dialect.js";
import type { SourceOverride } from "../formats/yaml-values.js";
import {
  type Candidate,
  EnvironmentSource,
  type LayerId,
  type LayerStack,
  StaticSource,
  type ValueSource,
} from "../model/layers.js";
import { isEnvName as isEnvironmentName } from "../model/names.js";
import {
  effectiveDeclarations,
  effectiveSources,
  type FileSource,
  isStoreSource,
  type SourceDecl,
  type Spec,
  type StoreSource,
} from "../model/spec.js";
import { literal, parseTemplate, type Template, TemplateSyntaxError } from "../model/template.js";
import { findWorkspace, storeExists } from "../workspace/workspace.js";

export interface LayerOptions {
  cwd: string;
  env: Readonly<Record<string, string | undefined>>;
  spec?: Spec | undefined;
  profile?: string | undefined;
  /** --secret NAME=VALUE, in the order given. */
  secrets?: readonly (readonly [string, string])[] | undefined;
  /** --values FILE, relative to cwd. */
  valuesFiles?: readonly string[] | undefined;
  /** --env-file FILE, relative to cwd. */
  envFiles?: readonly string[] | undefined;
  /** The only names the process environment may answer (a manifest from another repository). */
  hostEnvOnly?: ReadonlySet<string> | undefined;
  /** Where automatic value files are looked for, instead of the manifest's directory (ditto). */
  autoDir?: string | undefined;
  /** --secrets-dir DIR, relative to cwd. */
  secretsDirs?: readonly string[] | undefined;
}

/** Layers 1–5 gathered, and the external stores (layer 6) still to be asked, with value-file overrides applied. */
export interface LocalLayers extends LayerStack {
  stores: StoreSource[];
  /** The names of the stores the selected profile declares: they rank with the profile's sources. */
  profileStores: ReadonlySet<string>;
  /**
   * Where the profile's external stores go in `sources` (before the marker of its manifest values);
   * -1 without a profile section.
   */
  profileEnd: number;
}

interface FilePlan {
  layer: "values" | "dotenv" | "files";
  tier: "named" | "profile" | "generic";
  path: string;
  label: string;
  name?: string | undefined;
  /** A missing file is an error (given on the command line, or declared `required: true`). */
  mustExist: "flag" | "declared" | false;
  declaredAt?: import("../errors.js").Location | undefined;
}

/**
 * Layers 1–5 (flags, environment, value files, the workspace store, dotenv files), in precedence order,
 * and the external stores of layer 6, which the pipeline asks next with these layers' scope.
 */
export async function gatherLocalLayers(options: LayerOptions): Promise<LocalLayers> {
  const warnings: Diagnostic[] = [];
  const sources: ValueSource[] = [];
  const flagCandidates: Candidate[] = (options.secrets ?? []).map(([name, value]) => ({
    name,
    template: literal(value),
    origin: { layer: "flag", where: "--secret" },
  }));
  sources.push(new StaticSource("flag", "--secret flags", flagCandidates));
  sources.push(new EnvironmentSource(options.env, options.hostEnvOnly));
  if (options.spec) {
    const declared = effectiveDeclarations(options.spec, options.profile).map((entry) => entry.lookup);
    if (declared.some((name) => options.env[`${name}_FILE`])) {
      const { nameFileSource } = await import("./secret-files.js");
      sources.push(nameFileSource(declared, options.env, options.cwd, options.hostEnvOnly));
    }
  }

  const plans = planFiles(options);
  const needsYaml = plans.some((plan) => plan.layer === "values" && (plan.mustExist || exists(plan.path)));
  const yamlParser = needsYaml ? (await import("../formats/yaml-values.js")).parseYamlValues : undefined;
  // Value files may also change or add external stores (`sources:`), the higher file first.
  const overrides: SourceOverride[] = [];
  const read = async (tier: FilePlan["tier"]) => {
    for (const plan of plans.filter((entry) => entry.tier === tier)) {
      if (plan.layer === "files") {
        const { DirectorySource } = await import("./secret-files.js");
        sources.push(
          new DirectorySource(plan.path, plan.label, options.cwd, {
            name: plan.name,
            mustExist: plan.mustExist !== false,
            generic: tier === "generic",
          }),
        );
      } else
        sources.push(
          readFileSource(plan, options.cwd, warnings, yamlParser, overrides, dotenvContext(options)),
        );
    }
  };
  await read("named");
  const section =
    options.spec && options.profile && Object.hasOwn(options.spec.profiles, options.profile)
      ? options.spec.profiles[options.profile]
      : undefined;
  await read("profile");
  let profileEnd = -1;
  if (options.profile && options.spec) {
    // The profile's manifest values rank here; its external stores are put before this marker.
    profileEnd = sources.length;
    sources.push(
      Object.assign(new StaticSource("manifest", `profiles.${options.profile} in ${options.spec.file}`, []), {
        profileValues: options.profile,
      }),
    );
  }
  sources.push(await storeSource(options, warnings));
  await read("generic");
  // The external stores the manifest declares (value files may change or add some).
  let stores = options.spec ? effectiveSources(options.spec, options.profile).filter(isStoreSource) : [];
  if (overrides.length && options.spec) {
    stores = (await import("./store-overrides.js")).applyOverrides(stores, overrides);
  }
  const profileStores = new Set((section?.sources ?? []).filter(isStoreSource).map((store) => store.name));
  return { sources, warnings, stores, profileStores, profileEnd };
}

/** Layer 6 when it is not read here (the external-secrets target: the operator reads the stores in the cluster). */
export function storesNotRead(stores: readonly StoreSource[]): ValueSource[] {
  return stores.map(
    (store) =>
      new StaticSource("external", `${store.type} source "${store.name}"`, [], {
        name: store.name,
        present: false,
        note: "not read for this target: the External Secrets Operator reads it in the cluster",
      }),
  );
}

/**
 * Layer 4, the encrypted workspace store. Only a store that exists costs anything: its module (and
 * node:crypto) is loaded then.
 */
async function storeSource(options: LayerOptions, warnings: Diagnostic[]): Promise<ValueSource> {
  const workspace = findWorkspace(options.cwd, options.env.HOME);
  const label = `workspace store ${displayPath(options.cwd, workspace.file)}`;
  if (!storeExists(workspace)) return new StaticSource("store", label, [], { present: false });
  // Loaded only when there is a store (node:crypto and the age reader cost ~2 ms to load).
  const { readStore } = await import("../workspace/store.js");
  const contents = await readStore(workspace, options.env, options.cwd, warnings);
  const file = displayPath(options.cwd, workspace.file);
  const candidates: Candidate[] = [];
  for (const [name, value] of contents.values) {
    let template: Template;
    try {
      template = parseTemplate(value);
    } catch (error) {
      if (!(error instanceof TemplateSyntaxError)) throw error;
      throw new TesseraError("E_TEMPLATE_SYNTAX", `${file}: the stored value of ${name}: ${error.message}`, {
        hint: `set it again (\`tessera var set ${name} …\`); a literal $ is written $$, or use --literal`,
      });
    }
    candidates.push({ name, template, origin: { layer: "store", where: file, file } });
  }
  return new StaticSource("store", label, candidates);
}

function exists(path: string): boolean {
  return statSync(path, { throwIfNoEntry: false })?.isFile() ?? false;
}

function planFiles(options: LayerOptions): FilePlan[] {
  const { cwd, spec, profile } = options;
  const base = spec?.dir ?? cwd;
  const fromDecl =
    (tier: FilePlan["tier"]) =>
    (decl: FileSource): FilePlan => ({
      layer: decl.type === "yaml" ? "values" : decl.type === "files" ? "files" : "dotenv",
      tier,
      path: resolve(base, decl.path),
      label: displayPath(cwd, resolve(base, decl.path)),
      name: decl.name,
      mustExist: decl.required ? "declared" : false,
      declaredAt: decl.declaredAt,
    });
  const isFile = (decl: SourceDecl): decl is FileSource => !isStoreSource(decl);
  // For a manifest from another repository, automatic files come from the workspace, not the repository.
  const autoBase = options.autoDir ?? base;
  const auto = (tier: FilePlan["tier"], names: string[], dir = autoBase): FilePlan[] =>
    names.map((name) => ({
      layer: name.endsWith(".yaml") ? "values" : "dotenv",
      tier,
      path: resolve(dir, name),
      label: displayPath(cwd, resolve(dir, name)),
      mustExist: false,
    }));
  const given = (layer: FilePlan["layer"], files: readonly string[] | undefined, flag: string): FilePlan[] =>
    (files ?? []).map((file) => ({
      layer,
      tier: "named",
      path: resolve(cwd, file),
      label: `${flag} ${file}`,
      mustExist: "flag",
    }));
  const section =
    spec && profile && Object.hasOwn(spec.profiles, profile) ? spec.profiles[profile] : undefined;

  const plans: FilePlan[] = [
    ...given("values", options.valuesFiles, "--values"),
    ...given("dotenv", options.envFiles, "--env-file"),
    ...given("files", options.secretsDirs, "--secrets-dir"),
    ...(section?.sources ?? []).filter(isFile).map(fromDecl("profile")),
    ...(profile ? auto("profile", [`env.${profile}.yaml`, `.env.${profile}.local`, `.env.${profile}`]) : []),
    ...(spec?.sources ?? []).filter(isFile).map(fromDecl("generic")),
    // Dockrion reads .dockrion-env.yaml over env.yaml.
    ...auto("generic", [".dockrion-env.yaml", "env.yaml", ".env.local", ".env"]),
    ...(spec?.kind === "ploinky"
      ? parentEnvFiles(autoBase).flatMap((dir) => auto("generic", [".env"], dir))
      : []),
  ];
  // A file named twice is read once, at its highest position.
  const seen = new Set<string>();
  return plans.filter((plan) => {
    const key = `${plan.layer}\0${plan.path}`;
    if (seen.has(key)) return false;
    seen.add(key);
    return true;
  });
}

/**
 * Ploinky reads the nearest `.env` from the workspace upwards (cli/services/masterKey.js findEnvFile): with
 * none in the workspace, Tessera reads the nearest one above it, for a Ploinky manifest only.
 */
function parentEnvFiles(dir: string): string[] {
  if (exists(resolve(dir, ".env"))) return [];
  let current = dirname(dir);
  for (;;) {
    if (exists(resolve(current, ".env"))) return [current];
    if (current === dirname(current)) return [];
    current = dirname(current);
  }
}

/** What the dotenv layer needs besides the file: whose reader also reads it, and the environment for bare keys. */
interface DotenvContext {
  kind?: import("../model/spec.js").ManifestKind | undefined;
  /** The process environment as the environment layer answers it (hostEnvOnly applied). */
  lookup: (name: string) => string | undefined;
}

function dotenvContext(options: LayerOptions): DotenvContext {
  return {
    kind: options.spec?.kind,
    lookup: (name) =>
      (options.hostEnvOnly && !options.hostEnvOnly.has(name)) || !Object.hasOwn(options.env, name)
        ? undefined
        : options.env[name],
  };
}

function readFileSource(
  plan: FilePlan,
  cwd: string,
  warnings: Diagnostic[],
  yamlParser: typeof import("../formats/yaml-values.js").parseYamlValues | undefined,
  overrides?: SourceOverride[],
  dotenv: DotenvContext = { lookup: () => undefined },
): ValueSource {
  const file = displayPath(cwd, plan.path);
  // Most automatic files do not exist: ask without paying for an exception.
  const stat = statSync(plan.path, { throwIfNoEntry: false });
  if (!stat && !plan.mustExist) {
    return new StaticSource(plan.layer, plan.label, [], { present: false, name: plan.name });
  }
  if (stat && !stat.isFile()) {
    throw new TesseraError(
      "E_FILE_INVALID",
      `${file} is not a regular file (a directory, a device or a FIFO)`,
      {
        hint: `a ${plan.layer === "values" ? "YAML value" : "dotenv"} file must be an ordinary file; rename or remove ${file}`,
      },
    );
  }
  let text: string;
  try {
    text = readFileSync(plan.path, "utf8");
  } catch (error) {
    const code = errnoCode(error);
    if (code === "ENOENT" && !plan.mustExist) {
      return new StaticSource(plan.layer, plan.label, [], { present: false, name: plan.name });
    }
    const what =
      code === "ENOENT" ? "not found" : code === "EISDIR" ? "is a directory" : `cannot be read (${code})`;
    throw new TesseraError(
      plan.mustExist === "declared" ? "E_SOURCE_MISSING" : "E_FILE_NOT_FOUND",
      `${plan.layer === "values" ? "value file" : "env file"} ${file} ${what}`,
      {
        location: plan.mustExist === "declared" ? plan.declaredAt : undefined,
        hint:
          plan.mustExist === "flag"
            ? "paths given on the command line are relative to the current directory"
            : "this source is declared with required: true; create the file, or drop required: true to make it optional",
      },
    );
  }
  const layer: LayerId = plan.layer;
  const generic = plan.tier === "generic" ? { generic: true } : {};
  if (plan.layer === "dotenv") {
    const parsed = parseDotenv(text, file);
    // Dockrion and Ploinky read this file too, literally: warn at each line they read otherwise.
    const dialect = dialectFor(dotenv.kind, plan.path);
    if (dialect) warnings.push(...dialectDiagnostics(text, file, dialect, parsed));
    const candidates: Candidate[] = [];
    // A line holding only NAME takes NAME from the environment (Compose).
    for (const entry of withEnvironment(parsed, dotenv.lookup)) {
      if (!isEnvName(entry.key, file, entry.line, warnings)) continue;
      candidates.push({
        name: entry.key,
        template: entry.value,
        origin: {
          layer,
          where: entry.fromEnvironment
            ? `${file}:${entry.line} (from the environment)`
            : `${file}:${entry.line}`,
          file,
          line: entry.line,
          ...generic,
        },
      });
    }
    return new StaticSource(layer, plan.label, candidates, { name: plan.name, lastWins: true });
  }
  const parsed = yamlParser!(text, file);
  warnings.push(...parsed.warnings);
  overrides?.push(...parsed.sources);
  const candidates: Candidate[] = parsed.entries.map((entry) => ({
    name: entry.key,
    template: entry.value,
    origin: {
      layer,
      where: `${file}:${entry.line}`,
      file,
      line: entry.line,
      column: entry.column,
      ...generic,
    },
  }));
  return new StaticSource(layer, plan.label, candidates, { name: plan.name });
}

function isEnvName(key: string, file: string, line: number, warnings: Diagnostic[]): boolean {
  if (isEnvironmentName(key)) return true;
  warnings.push(invalidNameWarning(key, { file, line }));
  return false;
}
