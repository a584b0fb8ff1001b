/**
 * tessera var list [--values] [--json] (also `tessera vars`): the store's names, what each is (set, empty,
 * alias, template) and where the manifest and the other stored values use it; values only with --values.
 */
import { displayPath } from "../../files.js";
import { findManifest, loadManifest } from "../../manifest/load.js";
import { ploinkySensitivity } from "../../model/sensitivity.js";
import { effectiveDeclarations, type Spec } from "../../model/spec.js";
import { parseTemplate, referencedNames } from "../../model/template.js";
import { wildcardTakes } from "../../resolve/wildcards.js";
import { findWorkspace, storeExists } from "../../workspace/workspace.js";
import { type FlagSpecs, helpText, parseArgs } from "../args.js";
import { type Context, noArguments } from "../common.js";
import { describe, loadStore, QUIET } from "./common.js";

const LIST_FLAGS = {
  values: { type: "boolean", help: "show the stored values (otherwise names only)" },
  json: { type: "boolean", help: "a JSON array on stdout" },
  manifest: { type: "string", value: "FILE", help: "the manifest whose use of each name is shown" },
  ...QUIET,
} as const satisfies FlagSpecs;

interface Listed {
  name: string;
  state: string;
  aliasOf?: string;
  refersTo?: string[];
  usedBy: string[];
  value?: string;
}

function manifestUses(spec: Spec | undefined, name: string): string[] {
  if (!spec) return [];
  const uses: string[] = [];
  for (const declaration of effectiveDeclarations(spec, undefined)) {
    if (declaration.wildcard) {
      if (wildcardTakes(declaration.name, name))
        // As the expansion judges it: a pattern declared secret makes secrets, else Ploinky's name rule.
        uses.push(
          `${spec.file}: matched by ${declaration.name} (${declaration.kind === "secret" ? "secret" : ploinkySensitivity(name)})`,
        );
      continue;
    }
    if (declaration.lookup === name) {
      const inside = declaration.name !== name ? ` as ${declaration.name}` : "";
      uses.push(`${spec.file}: ${declaration.kind}${declaration.required ? ", required" : ""}${inside}`);
    }
    if (declaration.value !== undefined) {
      try {
        if (referencedNames(parseTemplate(declaration.value)).has(name) && declaration.lookup !== name) {
          uses.push(`${spec.file}: referenced by ${declaration.name}`);
        }
      } catch {
        // reported by check
      }
    }
  }
  return uses;
}

export async function main(argv: readonly string[], context: Context): Promise<number> {
  const parsed = parseArgs(argv, LIST_FLAGS);
  const options = parsed.flags;
  if (options.help) {
    context.stdout(
      helpText(
        "tessera var list [--values] [--json]   (also: tessera vars)",
        "the store's names, what each is (set, empty, alias, template) and where it is used; values only with --values",
        LIST_FLAGS,
      ),
    );
    return 0;
  }
  noArguments(parsed.positionals, "tessera var list [--values] [--json]");
  const workspace = findWorkspace(context.cwd, context.env.HOME);
  const contents = storeExists(workspace)
    ? await loadStore(workspace, context, options.quiet === true)
    : { values: new Map<string, string>() };
  const ref = findManifest(context.cwd, options.manifest);
  const spec = ref ? await loadManifest(ref, { cwd: context.cwd, env: context.env }) : undefined;
  const rows: Listed[] = [...contents.values.keys()].sort().map((name) => {
    const text = contents.values.get(name)!;
    const row: Listed = { name, ...describe(text), usedBy: manifestUses(spec, name) };
    for (const [other, otherText] of contents.values) {
      if (other === name) continue;
      const what = describe(otherText);
      if (what.aliasOf === name) row.usedBy.push(`alias target of ${other}`);
      else if (what.refersTo?.includes(name)) row.usedBy.push(`referenced by ${other}`);
    }
    if (options.values) row.value = text;
    return row;
  });
  if (options.json) {
    context.stdout(`${JSON.stringify(rows, null, 2)}\n`);
    return 0;
  }
  if (rows.length === 0) {
    if (!options.quiet)
      context.stderr(
        storeExists(workspace)
          ? `tessera: ${displayPath(context.cwd, workspace.file)} is empty\n`
          : "tessera: there is no workspace store here yet (`tessera var set NAME VALUE` creates it)\n",
      );
    return 0;
  }
  const width = Math.max(...rows.map((row) => row.name.length)) + 2;
  const stateWidth = options.values ? 0 : Math.max(...rows.map((row) => row.state.length)) + 2;
  for (const row of rows) {
    const middle = options.values ? `${JSON.stringify(row.value)}  ` : row.state.padEnd(stateWidth);
    const used = row.usedBy.length ? row.usedBy.join("; ") : "not used by the manifest";
    context.stdout(`${row.name.padEnd(width)}${middle}${used}\n`.replace(/ +\n$/, "\n"));
  }
  return 0;
}
