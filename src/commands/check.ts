/**
 * tessera check [--env P] [--strict] [--json]: validate the manifest (in full, never from the cache)
 * and the resolution. A short summary on stderr, or JSON on stdout; never values.
 */
import { type Diagnostic, formatError, formatLocation, isTesseraError, TesseraError } from "../errors.js";
import { findManifest, MANIFEST_NAMES } from "../manifest/load.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, parseArgs } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  describeMissing,
  type LayerFlags,
  missingError,
  noArguments,
  printWarnings,
  resolveFromFlags,
} from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  strict: { type: "boolean", help: "treat undeclared Dockfile references as errors (exit 4)" },
  json: { type: "boolean", help: "print a JSON report on stdout" },
} as const satisfies FlagSpecs;

const usage = "tessera check [--env P] [--strict] [--json] [options]";
const summary = "validate the manifest and the resolution";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, flags);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  noArguments(parsed.positionals, `${usage} (the manifest is given with --manifest FILE)`);
  try {
    return await check(options, context);
  } catch (error) {
    if (options.json && isTesseraError(error)) {
      context.stdout(
        `${JSON.stringify(
          {
            ok: false,
            error: {
              code: error.code,
              message: error.message,
              location: error.location ? formatLocation(error.location) : null,
              hint: error.hint ?? null,
            },
          },
          null,
          2,
        )}\n`,
      );
      context.stderr(`${formatError(error)}\n`);
      return error.exitCode;
    }
    throw error;
  }
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
  const { spec, resolution } = await resolveFromFlags(options, context, { noCache: true });
  const declared = new Set(resolution.variables.map((variable) => variable.name));
  const lookups = new Set(resolution.variables.map((variable) => variable.lookup));
  const undeclared: Diagnostic[] = [];
  const reported = new Set<string>();
  const references = spec?.implicitReferences ?? [];
  for (const reference of references) {
    if (declared.has(reference.name) || lookups.has(reference.name) || reported.has(reference.name)) continue;
    reported.add(reference.name);
    const optional = references
      .filter((other) => other.name === reference.name)
      .every((other) => other.hasDefault);
    undeclared.push({
      code: "W_UNDECLARED_REF",
      message: `${reference.name} is used by ${reference.context} but not declared in secrets`,
      location: reference.location,
      hint: optional
        ? `it has a default there, so declare it under secrets.optional: - name: ${reference.name}`
        : `declare it under secrets.required: - name: ${reference.name}`,
    });
  }
  const strictFailure = options.strict === true && undeclared.length > 0;
  const missingFailure = resolution.missing.length > 0 && !options["allow-missing-secrets"];
  const all = [...resolution.warnings, ...undeclared];

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
          ok: !strictFailure && !missingFailure,
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

  if (strictFailure) {
    const [first, ...rest] = undeclared;
    const error = new TesseraError("E_UNDECLARED_REF", first!.message, {
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
