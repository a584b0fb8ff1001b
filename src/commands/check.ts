/**
 * tessera check [--env P] [--strict] [--json]: validate the manifest (in full, never from the cache)
 * and the resolution. A short summary on stderr, or JSON on stdout; never values.
 */
import { type Diagnostic, formatError, formatLocation, TesseraError } from "../errors.js";
import { findManifest, MANIFEST_NAMES } from "../manifest/load.js";
import { ENV_NAME, type ImplicitReference } from "../model/spec.js";
import { type Lookup, parseTemplate, render } from "../model/template.js";
import { describeMissing, missingError } from "../pipeline/missing.js";
import type { Resolved } from "../pipeline/pipeline.js";
import type { Resolution } from "../resolve/resolve.js";
import { InvalidValuesError } from "../resolve/shape.js";
import { type FlagSpecs, helpText, LAYER_FLAGS } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  type LayerFlags,
  noArguments,
  parsedWithJsonErrors,
  printWarnings,
  resolveFromFlags,
} from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  strict: {
    type: "boolean",
    help: "treat undeclared Dockfile references (exit 4), and references Dockrion cannot load (exit 3), as errors",
  },
  json: { type: "boolean", help: "print a JSON report on stdout" },
} as const satisfies FlagSpecs;

const usage = "tessera check [--env P] [--strict] [--json] [options]";
const summary = "validate the manifest and the resolution";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  // With --json, every error is the JSON report below (on stdout, exit code kept): a usage error too.
  return parsedWithJsonErrors(argv, flags, context, async (parsed) => {
    const options = parsed.flags;
    if (options.help) {
      context.stdout(helpText(usage, summary, flags));
      return 0;
    }
    checkLayerFlags(options, context.env);
    noArguments(parsed.positionals, `${usage} (the manifest is given with --manifest FILE)`);
    return check(options, context);
  });
}

async function check(
  options: LayerFlags & { strict?: boolean; json?: boolean },
  context: Context,
): Promise<number> {
  if (!findManifest(context.cwd, options.manifest)) {
    throw new TesseraError(
      "E_MANIFEST_NOT_FOUND",
      `no manifest here: looked for ${MANIFEST_NAMES.join(", ")}`,
      {
        hint: "run check where the manifest is, name it with --manifest FILE, or create one with `tessera init`",
      },
    );
  }
  // A value that does not fit its declared type stops the pipeline (E_VALUE_INVALID): check reports it with the rest.
  let resolved: Pick<Resolved, "spec" | "resolution" | "scopeValue">;
  let invalid: InvalidValuesError | undefined;
  try {
    resolved = await resolveFromFlags(options, context, { noCache: true });
  } catch (error) {
    if (!(error instanceof InvalidValuesError) || !error.resolved) throw error;
    invalid = error;
    resolved = error.resolved as Pick<Resolved, "spec" | "resolution" | "scopeValue">;
  }
  const { spec, resolution, scopeValue } = resolved;
  const { undeclared, unloadable } = judgeReferences(
    spec?.implicitReferences ?? [],
    resolution,
    scopeValue,
    spec?.file ?? "",
    options["allow-missing-secrets"] === true,
  );
  const strictProblems = [...unloadable, ...undeclared];
  const strictFailure = options.strict === true && strictProblems.length > 0;
  const missingFailure = resolution.missing.length > 0 && !options["allow-missing-secrets"];
  const all = [...resolution.warnings, ...strictProblems];

  const set = resolution.variables.filter(
    (variable) => variable.status === "set" && variable.value !== undefined,
  );
  const allDeclared = resolution.variables;
  const count = {
    declared: allDeclared.length,
    secrets: allDeclared.filter((variable) => variable.kind === "secret").length,
    config: allDeclared.filter((variable) => variable.kind === "config").length,
    resolved: set.length,
    missing: resolution.missing.length,
    resolvedSecrets: set.filter((variable) => variable.kind === "secret").length,
    resolvedConfig: set.filter((variable) => variable.kind === "config").length,
  };

  if (options.json) {
    context.stdout(
      `${JSON.stringify(
        {
          ok: !strictFailure && !missingFailure && !invalid,
          manifest: spec ? { file: spec.file, kind: spec.kind } : null,
          profile: resolution.profile ?? null,
          counts: count,
          missing: resolution.missing.map((variable) => ({
            name: variable.name,
            kind: variable.kind,
            description: variable.description ?? null,
            reason: variable.status,
            detail: describeMissing(variable, resolution.looked)
              .slice(1)
              .map((line) => line.trim()),
          })),
          invalid: (invalid?.problems ?? []).map((problem) => ({
            name: problem.name,
            kind: problem.kind,
            rules: problem.rules,
            where: problem.where ?? null,
          })),
          warnings: all.map((warning) => ({
            code: warning.code,
            message: warning.message,
            location: warning.location ? formatLocation(warning.location) : null,
          })),
          variables: allDeclared.map((variable) => ({
            name: variable.name,
            kind: variable.kind,
            required: variable.required,
            status: variable.status,
            layer: variable.origin?.layer ?? null,
            where: variable.origin?.where ?? null,
          })),
          looked: resolution.looked,
        },
        null,
        2,
      )}\n`,
    );
  } else {
    printWarnings(strictFailure ? resolution.warnings : all, context, options.quiet);
  }

  if (invalid) {
    if (options.json) {
      context.stderr(`${formatError(invalid)}\n`);
      return invalid.exitCode;
    }
    throw invalid;
  }
  if (strictFailure) {
    const [first, ...rest] = strictProblems;
    // A file Dockrion cannot load is a missing variable (exit 3); an undeclared reference, invalid input.
    const code = unloadable.length > 0 ? "E_MISSING_REQUIRED" : "E_UNDECLARED_REF";
    const error = new TesseraError(code, first!.message, {
      location: first!.location,
      hint: first!.hint,
      details: rest.map((warning) => `also ${formatLocation(warning.location)}: ${warning.message}`),
    });
    if (options.json) {
      context.stderr(`${formatError(error)}\n`);
      return error.exitCode;
    }
    throw error;
  }
  if (missingFailure) {
    const error = missingError(resolution);
    if (options.json) {
      context.stderr(`${formatError(error)}\n`);
      return error.exitCode;
    }
    throw error;
  }
  if (!options.json) {
    const where = spec
      ? `${spec.file}${resolution.profile ? ` (profile ${resolution.profile})` : ""}`
      : "no manifest";
    const missing = count.missing
      ? `, ${count.missing} missing (allowed): ${resolution.missing.map((v) => v.name).join(", ")}`
      : "";
    context.stderr(
      `tessera: ok: ${where}: ${count.declared} declared (${count.secrets} secret, ${count.config} config), ` +
        `${count.resolved} resolved (${count.resolvedSecrets} secret, ${count.resolvedConfig} config)${missing}\n`,
    );
  }
  return 0;
}

/** A reference name ending in this is a prefix (manifest/dockfile.ts PREFIX_MARK; not imported: that module loads the YAML parser). */
const PREFIX_MARK = "*";

/**
 * A Dockfile's implicit references (manifest/dockfile.ts), judged against the resolution:
 * - a name written with `${…}` (`env_var: ${API_KEY_VAR:-DOCKRION_API_KEY}`) is expanded first, as
 *   Dockrion expands it when it loads the file;
 * - a prefix (`AGENT_KEY_*`, Dockrion's multi-key mode) wants at least one declared name with it;
 * - any other name wants to be declared (W_UNDECLARED_REF);
 * - a `${NAME}` without a default whose NAME is unset makes Dockrion refuse to load the file: said in
 *   the warning of an undeclared name, and W_DOCKRION_UNSET for a declared one when
 *   --allow-missing-secrets let it through (a declared one is required otherwise: the reader made it so).
 */
function judgeReferences(
  references: readonly ImplicitReference[],
  resolution: Resolution,
  scopeValue: (name: string) => Lookup,
  file: string,
  allowMissing: boolean,
): { undeclared: Diagnostic[]; unloadable: Diagnostic[] } {
  const declared = new Set(resolution.variables.flatMap((variable) => [variable.name, variable.lookup]));
  const isSet = (name: string): boolean => {
    try {
      return scopeValue(name).set;
    } catch {
      // Its value cannot be computed: the resolution reports why, not this check.
      return true;
    }
  };
  const undeclared: Diagnostic[] = [];
  const unloadable: Diagnostic[] = [];
  const reported = new Set<string>();
  const uses = (name: string) => references.filter((other) => other.name === name);
  for (const reference of references) {
    let name = reference.name;
    let context = reference.context;
    if (name.includes("${")) {
      // Expanded as Dockrion does when it loads the file; an unset ${X} in it is reported as such.
      const expanded = expandName(name, scopeValue);
      if (expanded === undefined || !expanded) continue;
      context = `${reference.context} (${name} → ${expanded})`;
      name = expanded;
    }
    if (reported.has(name)) continue;
    if (name.endsWith(PREFIX_MARK)) {
      reported.add(name);
      const prefix = name.slice(0, -PREFIX_MARK.length);
      if ([...declared].some((known) => known.startsWith(prefix))) continue;
      undeclared.push({
        code: "W_UNDECLARED_REF",
        message: `${context}: Dockrion loads every variable whose name starts with ${prefix} as an API key (env_var is ignored), and none is declared`,
        location: reference.location,
        hint: `declare each key under secrets.required, e.g. - name: ${prefix}PROD`,
      });
      continue;
    }
    // A `${NAME}` without a default: Dockrion cannot load the file while NAME is unset (contexts of
    // expansions read "${NAME} in path", manifest/dockfile.ts isExpansion; auth names never stop loading).
    const bare = uses(reference.name).some((other) => other.context.startsWith("${") && !other.hasDefault);
    const optional = uses(reference.name).every((other) => other.hasDefault);
    if (!ENV_NAME.test(name)) {
      reported.add(name);
      if (!bare) continue;
      // `${X-d}`, `${ X }`: Dockrion's ${…} knows only NAME and NAME:-default, so this is a name of its own.
      undeclared.push({
        code: "W_UNDECLARED_REF",
        message: `${context}: Dockrion reads this as a variable named ${JSON.stringify(name)} and refuses to load the Dockfile while it is unset`,
        location: reference.location,
        hint: "Dockrion knows ${NAME} and ${NAME:-default} only: write one of those",
      });
      continue;
    }
    const unset = bare && !isSet(name);
    if (declared.has(name)) {
      reported.add(name);
      if (unset && allowMissing) {
        unloadable.push({
          code: "W_DOCKRION_UNSET",
          message: `${name} is not set, and ${context} has no default: Dockrion refuses to load ${file} while it is unset, --allow-missing-secrets or not`,
          location: reference.location,
          hint: `set ${name}, or write \${${name}:-default}`,
        });
      }
      continue;
    }
    reported.add(name);
    undeclared.push({
      code: "W_UNDECLARED_REF",
      message: `${name} is used by ${context} but not declared${
        unset ? `, and it is not set: Dockrion refuses to load ${file} while it is unset` : ""
      }`,
      location: reference.location,
      hint: optional
        ? `it has a default there, so declare it under secrets.optional: - name: ${name} (or under config: if it is not a secret)`
        : `declare it under secrets.required: - name: ${name} (or under config: if it is not a secret)`,
    });
  }
  return { undeclared, unloadable };
}

/** A name written with `${…}`, expanded from the scope; undefined when it cannot be (an unset reference). */
function expandName(text: string, scopeValue: (name: string) => Lookup): string | undefined {
  try {
    return render(parseTemplate(text), (name) => {
      const found = scopeValue(name);
      return found.set ? found.value : undefined;
    }).trim();
  } catch {
    return undefined;
  }
}
