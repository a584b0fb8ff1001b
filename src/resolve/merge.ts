/**
 * The precedence merge: which candidate wins for each name. Every name any layer defines, declared or
 * not, has its candidates in precedence order, winner first; the others are what it shadows. A declared
 * name is read the way its declaration says (`from:` included), and its manifest value or default comes
 * last. Pure: no value is evaluated here (templates are only parsed).
 */
import { type Location, TesseraError } from "../errors.js";
import type { Candidate, LayerStack, ValueSource } from "../model/layers.js";
import { type Declaration, effectiveDeclarations, refId, type Spec } from "../model/spec.js";
import { parseTemplate, type Template, TemplateSyntaxError } from "../model/template.js";
import { expandWildcards, hasWildcards, type WildcardMatch } from "./wildcards.js";

/** The merged scope of a Spec (or of the layers alone, without one) and its layers. */
export interface MergedScope {
  /** The declared variables, in declaration order (without a Spec: what flags and value files define). */
  declarations: Declaration[];
  /** What each wildcard declaration matched (for explain). */
  wildcards?: WildcardMatch[];
  /** The first declaration of a lookup name: the one whose reading of the name the scope uses. */
  declared(name: string): Declaration | undefined;
  /** The candidates of any name in the scope, winner first. */
  candidates(name: string): Candidate[];
  /** The candidates of one declaration, winner first (those of the scope when it owns its lookup name). */
  candidatesOf(declaration: Declaration): Candidate[];
}

/** Which values count as unset: none (the default), empty ones, or empty and whitespace-only ones. */
export type EmptyRule = "set" | "empty" | "blank";

export function mergeScope(
  spec: Spec | undefined,
  profile: string | undefined,
  stack: LayerStack,
  empty: EmptyRule = "set",
  hostNames?: Iterable<string>,
): MergedScope {
  let declarations = spec ? effectiveDeclarations(spec, profile) : implicitDeclarations(stack.sources);
  // A Ploinky `LLM_MODEL_*`: every matching name the layers (and the host, for a prefix) define.
  let wildcards: WildcardMatch[] | undefined;
  if (hasWildcards(declarations)) {
    const expansion = expandWildcards(declarations, stack.sources, { hostNames });
    declarations = expansion.declarations;
    wildcards = expansion.matches;
  }
  const declaredByLookup = new Map<string, Declaration>();
  for (const declaration of declarations) {
    if (!declaredByLookup.has(declaration.lookup)) declaredByLookup.set(declaration.lookup, declaration);
  }
  const defaultCandidate = (declaration: Declaration): Candidate | undefined => {
    if (declaration.value === undefined) return undefined;
    const at = declaration.valueAt ?? declaration.declaredAt;
    const what =
      declaration.valueKind === "default"
        ? "default"
        : declaration.valueKind === "fixed"
          ? "fixed value"
          : declaration.valueProfile
            ? `profiles.${declaration.valueProfile} value`
            : "value";
    return {
      name: declaration.lookup,
      template: manifestTemplate(declaration.value, declaration.name, at),
      origin: {
        layer: "manifest",
        where: `${at.file}:${at.line ?? 1} (${what})`,
        file: at.file || spec?.file,
        line: at.line,
        column: at.column,
      },
    };
  };

  // The candidates of every name in the scope, winner first. A declared name is read the way its
  // declaration says (`from:` included), so that references see exactly the exported value.
  const candidateCache = new Map<string, Candidate[]>();
  const candidatesFor = (name: string): Candidate[] => {
    let list = candidateCache.get(name);
    if (!list) {
      const declared = declaredByLookup.get(name);
      list = declared
        ? declarationCandidates(declared, stack.sources, defaultCandidate)
        : layerCandidates(name, stack.sources);
      if (empty !== "set") list = list.filter((candidate) => !unset(candidate, empty));
      candidateCache.set(name, list);
    }
    return list;
  };

  return {
    declarations,
    wildcards,
    declared: (name) => declaredByLookup.get(name),
    candidates: candidatesFor,
    candidatesOf: (declaration) =>
      declaredByLookup.get(declaration.lookup) === declaration
        ? candidatesFor(declaration.lookup)
        : declarationCandidates(declaration, stack.sources, defaultCandidate).filter(
            (candidate) => empty === "set" || !unset(candidate, empty),
          ),
  };
}

/** An empty (or, for "blank", whitespace-only) literal value, treated as not set at all. */
function unset(candidate: Candidate, empty: EmptyRule): boolean {
  const template = candidate.template;
  if (!template.every((part) => typeof part === "string")) return false;
  const text = template.join("");
  return empty === "blank" ? text.trim() === "" : text === "";
}

/** Without a manifest, the variables are those defined by flags and value files (never the environment). */
function implicitDeclarations(sources: readonly ValueSource[]): Declaration[] {
  const names = new Set<string>();
  for (const source of sources) {
    if (source.layer === "env") continue;
    for (const name of source.names()) names.add(name);
  }
  return [...names].map((name) => ({
    name,
    lookup: name,
    kind: "secret" as const,
    required: false,
    declaredAt: { file: "" },
  }));
}

function layerCandidates(name: string, sources: readonly ValueSource[]): Candidate[] {
  const out: Candidate[] = [];
  for (const source of sources) if (source.profileValues === undefined) out.push(...source.lookup(name));
  return out;
}

/**
 * Candidates for one declaration, winner first: its lookup name in every layer (`from:` honoured), with its
 * manifest value where it ranks: a fixed value right below the flags, a profile's value at the profile's
 * marker in the list, any other value or default last.
 */
function declarationCandidates(
  declaration: Declaration,
  sources: readonly ValueSource[],
  defaultCandidate: (declaration: Declaration) => Candidate | undefined,
): Candidate[] {
  const from = declaration.from;
  const out: Candidate[] = [];
  const own = defaultCandidate(declaration);
  let placed = own === undefined;
  for (const source of sources) {
    if (!placed && declaration.valueKind === "fixed" && source.layer !== "flag") {
      out.push(own!);
      placed = true;
    }
    if (source.profileValues !== undefined) {
      if (!placed && declaration.valueProfile === source.profileValues) {
        out.push(own!);
        placed = true;
      }
      continue;
    }
    if (from && source.name === from.source) {
      // A store serves `key` and `property` under one id; a file, the key alone.
      const key = from.key ?? declaration.lookup;
      const id = source.layer === "external" ? refId(key, from.property) : key;
      for (const candidate of source.lookup(id)) out.push({ ...candidate, name: declaration.lookup });
    } else {
      out.push(...source.lookup(declaration.lookup));
    }
  }
  if (!placed) out.push(own!);
  return out;
}

function manifestTemplate(text: string, name: string, at: Location): Template {
  try {
    return parseTemplate(text);
  } catch (error) {
    if (!(error instanceof TemplateSyntaxError)) throw error;
    throw new TesseraError("E_TEMPLATE_SYNTAX", `the value of ${name}: ${error.message}`, {
      location: at,
      hint: "a literal $ is written $$",
    });
  }
}
