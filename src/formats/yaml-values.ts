/**
 * YAML value files (env.yaml, env.<profile>.yaml, .dockrion-env.yaml, --values FILE): either a flat
 * mapping of scalars, or a mapping with a `secrets:` (and optionally `config:`) mapping, as Dockrion
 * reads them. Scalars keep their spelling (`1.10` stays "1.10"); a null (`KEY:` or `~`) means no value.
 * Values are interpolated. Errors point at file:line:column and never quote a value. A `sources:` list
 * changes or adds external stores for this machine (an address, a profile path), never values.
 */
import { isAlias, isMap, isNode, isPair, isScalar, isSeq, type Node } from "yaml";
import { type Diagnostic, type Location, TesseraError } from "../errors.js";
import { isRecord } from "../model/guards.js";
import { ENV_NAME } from "../model/spec.js";
import { parseTemplate, type Template, TemplateSyntaxError } from "../model/template.js";
import { invalidNameWarning } from "./dotenv.js";
import { parseYaml, valueNode } from "./yaml-doc.js";

export interface ValueEntry {
  key: string;
  line: number;
  column: number;
  value: Template;
}

/** A `sources:` entry of a value file: overrides the manifest's store of that name, or adds one. */
export interface SourceOverride {
  fields: Record<string, unknown>;
  /** The position of a field of this entry (its key with `key`), for errors. */
  locate(path: readonly (string | number)[], key?: boolean): Location;
}

export interface ValueFile {
  entries: ValueEntry[];
  warnings: Diagnostic[];
  sources: SourceOverride[];
}

export function parseYamlValues(text: string, file: string): ValueFile {
  const yaml = parseYaml(text, file, "E_VALUES_INVALID", { quote: false });
  const warnings: Diagnostic[] = [];
  const root = yaml.doc.contents;
  if (root === null || (isScalar(root) && (root.value === null || root.value === "")))
    return { entries: [], warnings, sources: [] };
  if (!isMap(root)) {
    throw new TesseraError("E_VALUES_INVALID", "a YAML value file must be a mapping of NAME: value", {
      location: yaml.at(root.range?.[0] ?? 0),
      hint: "write one NAME: value per line, or a secrets: mapping",
    });
  }
  const top = new Map<string, Node | null>();
  for (const pair of root.items) {
    if (isPair(pair) && isScalar(pair.key))
      top.set(String(pair.key.value), isNode(pair.value) ? pair.value : null);
  }
  // `sources:` (a list) overrides or adds external stores for this machine: never values.
  const sources: SourceOverride[] = [];
  const sourcesNode = top.get("sources");
  if (sourcesNode !== undefined && sourcesNode !== null) {
    if (!isSeq(sourcesNode)) {
      throw new TesseraError("E_VALUES_INVALID", "sources: in a value file is a list of stores", {
        location: yaml.locate(["sources"], true),
        hint: "- { name: vault, address: https://vault.local:8200 }: fields for the manifest's store of that name, or a new store with its type",
      });
    }
    sourcesNode.items.forEach((item, index) => {
      const fields: unknown = isNode(item) ? yaml.data(item) : undefined;
      if (!isRecord(fields)) {
        throw new TesseraError("E_VALUES_INVALID", "a sources: entry is a mapping of a store's fields", {
          location: yaml.locate(["sources", index]),
        });
      }
      sources.push({
        fields,
        locate: (path, key) => yaml.locate(["sources", index, ...path], key),
      });
    });
    top.delete("sources");
  }
  const secrets = top.get("secrets");
  let maps: Node[];
  if (secrets && isMap(secrets)) {
    maps = [secrets];
    const config = top.get("config");
    if (config && isMap(config)) maps.push(config);
    for (const key of top.keys()) {
      if (!["secrets", "config", "environment"].includes(key)) {
        warnings.push({
          code: "W_VALUES_IGNORED",
          message: `${ENV_NAME.test(key) ? key : "the key on this line"} is ignored: with a secrets: mapping, only secrets: and config: are read`,
          location: yaml.locate([key], true),
        });
      }
    }
  } else {
    maps = [root];
  }
  const skip = sourcesNode !== undefined ? new Set(["sources"]) : new Set<string>();

  const entries: ValueEntry[] = [];
  for (const map of maps) {
    if (!isMap(map)) continue;
    for (const pair of map.items) {
      if (!isPair(pair) || !isScalar(pair.key)) continue;
      const key = String(pair.key.value);
      if (map === root && skip.has(key)) continue;
      const keyAt = yaml.at(pair.key.range?.[0] ?? 0);
      if (!ENV_NAME.test(key)) {
        warnings.push(invalidNameWarning(key, keyAt));
        continue;
      }
      // An alias (`B: *a`) stands for the node it names.
      const written = pair.value;
      const node = valueNode(written, yaml.doc);
      if (node === undefined) {
        throw new TesseraError(
          "E_VALUES_INVALID",
          `the value of ${key} is an alias to an anchor that does not exist`,
          {
            location: yaml.at((isAlias(written) ? written.range?.[0] : undefined) ?? 0),
            hint: "define the anchor (&name) before the alias (*name), or write the value",
          },
        );
      }
      if (node === null || (isScalar(node) && (node.value === null || node.value === undefined))) continue;
      if (!isScalar(node)) {
        throw new TesseraError(
          "E_VALUES_INVALID",
          `the value of ${key} is a nested ${isMap(node) ? "mapping" : "list"}`,
          {
            location: yaml.at(node.range?.[0] ?? 0),
            hint: "value files hold scalars only (strings, numbers, booleans); quote structured values as a string",
          },
        );
      }
      const value = node.value;
      const text =
        typeof value === "string"
          ? value
          : node.type === "PLAIN" && typeof node.source === "string"
            ? node.source
            : String(value);
      const at = yaml.at(node.range?.[0] ?? 0);
      let template: Template;
      try {
        template = parseTemplate(text);
      } catch (error) {
        if (!(error instanceof TemplateSyntaxError)) throw error;
        throw new TesseraError("E_TEMPLATE_SYNTAX", `the value of ${key}: ${error.message}`, {
          location: at,
          hint: "a literal $ is written $$",
        });
      }
      entries.push({ key, line: keyAt.line ?? 1, column: keyAt.column ?? 1, value: template });
    }
  }
  return { entries, warnings, sources };
}
