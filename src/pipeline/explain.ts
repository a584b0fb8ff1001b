/**
 * What `explain` shows, as data: for each variable its kind, whether it is required, the layer and place
 * that won and what it shadowed, and a keyed fingerprint to compare values. Never a value.
 */
import { fingerprint, fingerprintKey } from "../crypto/fingerprint.js";
import type { LayerStack, Origin } from "../model/layers.js";
import type { Env } from "../paths.js";
import type { Resolution, ResolvedVariable } from "../resolve/resolve.js";

export interface Explanation {
  name: string;
  declared: boolean;
  kind?: "secret" | "config" | undefined;
  /** Declared as config, treated as a secret because its value is built from one. */
  derived?: boolean | undefined;
  required?: boolean | undefined;
  description?: string | undefined;
  status: "set" | "missing" | "empty" | "unresolved" | "undeclared";
  lookup?: string | undefined;
  winner?: OriginJson | undefined;
  shadowed: OriginJson[];
  fingerprint?: string | undefined;
  dependsOn?: string | undefined;
  declaredAt?: string | undefined;
}

export interface OriginJson {
  layer: string;
  where: string;
  file?: string | undefined;
  line?: number | undefined;
}

function originJson(origin: Origin): OriginJson {
  const out: OriginJson = { layer: origin.layer, where: origin.where };
  if (origin.file) out.file = origin.file;
  if (origin.line !== undefined) out.line = origin.line;
  return out;
}

/** Explanations of `names` (default: every declared variable), in that order. */
export function explain(
  resolution: Resolution,
  stack: LayerStack,
  env: Env,
  names?: readonly string[],
): Explanation[] {
  const key = fingerprintKey(env);
  const byName = new Map(resolution.variables.map((variable) => [variable.name, variable]));
  return (names?.length ? names : [...byName.keys()]).map((name) => {
    const variable = byName.get(name);
    if (variable) return explainDeclared(variable, key);
    const candidates = stack.sources.flatMap((source) => source.lookup(name));
    return {
      name,
      declared: false,
      status: "undeclared",
      winner: candidates[0] ? originJson(candidates[0].origin) : undefined,
      shadowed: candidates.slice(1).map((candidate) => originJson(candidate.origin)),
    };
  });
}

function explainDeclared(variable: ResolvedVariable, key: Buffer): Explanation {
  const explanation: Explanation = {
    name: variable.name,
    declared: true,
    kind: variable.kind,
    required: variable.required,
    status: variable.status,
    shadowed: variable.shadowed.map(originJson),
  };
  if (variable.derived) explanation.derived = true;
  if (variable.description) explanation.description = variable.description;
  if (variable.lookup !== variable.name) explanation.lookup = variable.lookup;
  if (variable.origin) explanation.winner = originJson(variable.origin);
  if (variable.value !== undefined)
    explanation.fingerprint = fingerprint(key, variable.name, variable.value.reveal());
  if (variable.dependsOn) explanation.dependsOn = variable.dependsOn;
  if (variable.declaredAt?.file) {
    explanation.declaredAt = `${variable.declaredAt.file}:${variable.declaredAt.line ?? 1}`;
  }
  return explanation;
}
