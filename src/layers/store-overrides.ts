/**
 * `sources:` in a YAML value file (env.yaml, --values FILE): per-machine changes to the manifest's
 * external stores, never values. An entry with the `name` of a manifest store changes the fields it
 * states (a local Vault address, a profile's path); an entry with a new name and a `type` adds a store,
 * placed before the manifest's (a value file outranks the manifest). The result is checked against the
 * store type's schema, errors pointing into the value file. Files are applied lowest first, so the
 * higher file's fields win.
 */
import { TesseraError } from "../errors.js";
import type { SourceOverride } from "../formats/yaml-values.js";
import { STORE_TYPES, storeSchema } from "../manifest/schema.js";
import { schemaProblems } from "../manifest/validate.js";
import type { StoreSettings, StoreSource, StoreType } from "../model/spec.js";

export function applyOverrides(
  stores: readonly StoreSource[],
  overrides: readonly SourceOverride[],
): StoreSource[] {
  let out = [...stores];
  // `overrides` are in precedence order (highest first): apply the lowest first.
  for (const override of [...overrides].reverse()) {
    const { type, name, ...fields } = override.fields;
    const at = override.locate([]);
    if (name !== undefined && typeof name !== "string") {
      throw new TesseraError("E_VALUES_INVALID", "a sources: entry's name is a string", {
        location: override.locate(["name"]),
      });
    }
    const target = out.find((store) => store.name === (name ?? type));
    if (target) {
      if (type !== undefined && type !== target.type) {
        throw new TesseraError(
          "E_VALUES_INVALID",
          `the store "${target.name}" is a ${target.type} source in the manifest; a value file cannot change its type`,
          { location: override.locate(["type"]), hint: "give the new store another name" },
        );
      }
      const settings = { ...target.settings, ...fields } as StoreSettings;
      check(target.type, target.name, settings, override);
      out = out.map((store) => (store === target ? { ...store, settings, declaredAt: at } : store));
      continue;
    }
    if (typeof type !== "string" || !(STORE_TYPES as readonly string[]).includes(type)) {
      throw new TesseraError(
        "E_VALUES_INVALID",
        name === undefined
          ? "a sources: entry names the store it changes (name:) or the type of a new one (type:)"
          : `the manifest has no store named "${name}": a new one needs a type`,
        { location: at, hint: `store types: ${STORE_TYPES.join(", ")}` },
      );
    }
    const storeName = (name as string | undefined) ?? type;
    check(type as StoreType, storeName, fields as StoreSettings, override);
    out = [
      { type: type as StoreType, name: storeName, settings: fields as StoreSettings, declaredAt: at },
      ...out,
    ];
  }
  return out;
}

function check(type: StoreType, name: string, settings: StoreSettings, override: SourceOverride): void {
  const problems = schemaProblems(storeSchema(type), { type, name, ...settings });
  const first = problems[0];
  if (!first) return;
  throw new TesseraError("E_VALUES_INVALID", `the store "${name}": ${first.message}`, {
    location: override.locate(first.path, first.atKey),
    hint: first.hint,
    details: problems.slice(1).map((problem) => problem.message),
  });
}
