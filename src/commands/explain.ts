/**
 * tessera explain [NAME…] [--json]: for each variable, its kind, whether it is required, the layer and
 * place that won, and what it shadowed. Never the value: a short keyed fingerprint compares values.
 */

import { LAYER_TITLES } from "../model/layers.js";
import type { Explanation, OriginJson } from "../pipeline/explain.js";
import type { Resolution } from "../resolve/resolve.js";
import { type FlagSpecs, helpText, LAYER_FLAGS, type Parsed } from "./args.js";
import {
  type Context,
  checkLayerFlags,
  openFromFlags,
  parsedWithJsonErrors,
  printWarnings,
} from "./common.js";

export const flags = {
  ...LAYER_FLAGS,
  json: { type: "boolean", help: "print JSON on stdout" },
} as const satisfies FlagSpecs;

const usage = "tessera explain [NAME…] [--json] [options]";
const summary = "show where each variable comes from and what it shadows (never values)";

export async function main(argv: readonly string[], context: Context): Promise<number> {
  // With --json, every error (a usage error too) is the JSON report `check --json` prints for one.
  return parsedWithJsonErrors(argv, flags, context, (parsed) => explain(parsed, context));
}

async function explain(parsed: Parsed<typeof flags>, context: Context): Promise<number> {
  const options = parsed.flags;
  if (options.help) {
    context.stdout(helpText(usage, summary, flags));
    return 0;
  }
  checkLayerFlags(options, context.env);
  const pipeline = await openFromFlags(options, context);
  const { resolution } = await pipeline.resolve();
  printWarnings(resolution.warnings, context, options.quiet);
  const explanations = await pipeline.explain(parsed.positionals);

  if (options.json) {
    context.stdout(
      `${JSON.stringify(
        {
          manifest: resolution.manifest?.file ?? null,
          profile: resolution.profile ?? null,
          looked: resolution.looked,
          ...(resolution.wildcards ? { wildcards: wildcardsJson(resolution.wildcards) } : {}),
          variables: explanations,
        },
        null,
        2,
      )}\n`,
    );
    return 0;
  }
  const header = resolution.manifest
    ? `${resolution.manifest.file} (${resolution.manifest.kind})${resolution.profile ? `, profile ${resolution.profile}` : ""}`
    : `no manifest${resolution.profile ? `, profile ${resolution.profile}` : ""}: variables from flags and value files`;
  const lines = [`# ${header}`, `# precedence: ${resolution.looked.join(" > ")} > manifest defaults`];
  for (const match of resolution.wildcards ?? []) {
    const at = `${match.declaredAt.file}:${match.declaredAt.line ?? 1}`;
    lines.push(
      `# ${match.pattern} (${at}) matched ${match.names.length ? match.names.join(", ") : "nothing"}${match.taken.length ? `; declared before it: ${match.taken.join(", ")}` : ""}${match.displaced.length ? `; it displaced the later entries ${match.displaced.join(", ")}` : ""}`,
    );
  }
  lines.push("");
  for (const explanation of explanations) lines.push(...formatExplanation(explanation), "");
  if (explanations.length === 0) lines.push("(no variables)");
  context.stdout(`${lines.join("\n").trimEnd()}\n`);
  return 0;
}

function wildcardsJson(matches: NonNullable<Resolution["wildcards"]>) {
  return matches.map((match) => ({
    pattern: match.pattern,
    declaredAt: `${match.declaredAt.file}:${match.declaredAt.line ?? 1}`,
    matched: match.names,
    declaredBefore: match.taken,
    displaced: match.displaced,
  }));
}

function formatExplanation(explanation: Explanation): string[] {
  const facts = explanation.declared
    ? [
        explanation.derived
          ? "secret (declared as config, but its value is built from a secret)"
          : explanation.kind,
        explanation.required ? "required" : "optional",
      ]
    : ["not declared: serves references only, never exported"];
  if (explanation.lookup) facts.push(`looked up as ${explanation.lookup}`);
  const head = `${explanation.name}  ${facts.join(", ")}${explanation.description ? ` — ${explanation.description}` : ""}`;
  const lines = [head];
  const layer = (origin: OriginJson) =>
    LAYER_TITLES[origin.layer as keyof typeof LAYER_TITLES] ?? origin.layer;
  switch (explanation.status) {
    case "missing":
      lines.push(
        explanation.required
          ? "  ✗ missing: no layer sets it and there is no default"
          : "  – not set (optional, no default): left out of the environment",
      );
      break;
    case "unresolved":
      lines.push(`  ✗ unresolved: its value refers to ${explanation.dependsOn}, which is missing`);
      break;
    case "empty":
      lines.push(`  ✗ empty (required): set to "" by ${explanation.winner?.where}`);
      break;
    case "undeclared":
      if (!explanation.winner) lines.push("  ✗ not set in any layer");
  }
  if (explanation.winner && explanation.status !== "empty") {
    const fp = explanation.fingerprint ? `  fingerprint ${explanation.fingerprint}` : "";
    lines.push(`  ✓ ${explanation.winner.where}  (${layer(explanation.winner)})${fp}`);
  }
  for (const shadowed of explanation.shadowed)
    lines.push(`    shadows ${shadowed.where}  (${layer(shadowed)})`);
  return lines;
}
