/**
 * The engine of `tessera diff`: two sides (a profile's resolution, a value file, rendered Kubernetes
 * objects, a live Secret/ConfigMap, a container's environment), each a map of name → entry, compared by
 * keyed fingerprint (../crypto/fingerprint.ts, the one `explain` shows). An entry never holds a value:
 * sides are made from values here and keep only the fingerprint. Pure: no file, no process, no clock.
 */
import { isMap, parseAllDocuments } from "yaml";
import { fingerprint } from "../crypto/fingerprint.js";
import type { DotenvFile } from "../formats/dotenv.js";
import type { ValueFile } from "../formats/yaml-values.js";
import { isLiteral, type Template, templateText } from "../model/template.js";
import type { Resolution } from "../resolve/resolve.js";

/** What one side knows of a variable: its state, a fingerprint when set, and where it was set. */
export interface DiffEntry {
  state: "set" | "missing" | "empty" | "unresolved";
  fingerprint?: string;
  kind?: "secret" | "config";
  required?: boolean;
  where?: string;
  /** The value is a template with references, compared as written (a value file). */
  template?: true;
}

export interface DiffSide {
  label: string;
  entries: Map<string, DiffEntry>;
  /** Said above the comparison (e.g. "the Secret shop-secrets does not exist"). */
  notes?: string[];
}

export type RowStatus = "same" | "differs" | "left-only" | "right-only";

export interface DiffRow {
  name: string;
  status: RowStatus;
  /** What differs: "value", "presence", "kind", "required". */
  changes: string[];
  left?: DiffEntry;
  right?: DiffEntry;
}

export interface DiffResult {
  left: { label: string; notes: string[] };
  right: { label: string; notes: string[] };
  differ: boolean;
  rows: DiffRow[];
  counts: Record<RowStatus, number>;
}

/** A value as an entry: only its fingerprint is kept. */
export function valueEntry(
  key: Buffer,
  name: string,
  value: string,
  extra: Omit<DiffEntry, "state" | "fingerprint"> = {},
): DiffEntry {
  return { state: "set", fingerprint: fingerprint(key, name, value), ...extra };
}

/** A resolution as a side: every declared variable, its kind, requiredness, state and fingerprint. */
export function sideFromResolution(
  label: string,
  resolution: Pick<Resolution, "variables">,
  key: Buffer,
  filter: (name: string) => boolean = () => true,
): DiffSide {
  const entries = new Map<string, DiffEntry>();
  for (const variable of resolution.variables) {
    if (!filter(variable.name)) continue;
    const extra: Omit<DiffEntry, "state" | "fingerprint"> = {
      kind: variable.kind,
      required: variable.required,
    };
    if (variable.origin) extra.where = variable.origin.where;
    if (variable.value !== undefined && variable.status === "set")
      entries.set(variable.name, valueEntry(key, variable.name, variable.value.reveal(), extra));
    else {
      const state = variable.status === "set" ? "missing" : variable.status;
      entries.set(variable.name, { state, ...extra });
    }
  }
  return { label, entries };
}

function templateEntry(key: Buffer, name: string, template: Template, where: string): DiffEntry {
  if (isLiteral(template)) return valueEntry(key, name, template.join(""), { where });
  return { ...valueEntry(key, name, templateText(template), { where }), template: true };
}

/** A parsed dotenv file as a side (a later line for the same name wins, as in the file's own reading). */
export function sideFromDotenv(label: string, file: DotenvFile, key: Buffer, shown: string): DiffSide {
  const entries = new Map<string, DiffEntry>();
  for (const entry of file.entries)
    entries.set(entry.key, templateEntry(key, entry.key, entry.value, `${shown}:${entry.line}`));
  for (const bare of file.bare)
    entries.set(bare.key, { state: "missing", where: `${shown}:${bare.line} (from the environment)` });
  return { label, entries };
}

/** A parsed YAML value file as a side. */
export function sideFromValueFile(label: string, file: ValueFile, key: Buffer, shown: string): DiffSide {
  const entries = new Map<string, DiffEntry>();
  for (const entry of file.entries)
    if (!entries.has(entry.key))
      entries.set(entry.key, templateEntry(key, entry.key, entry.value, `${shown}:${entry.line}`));
  return { label, entries };
}

/** A flat JSON object of scalars (what `export --format json` writes) as a side; undefined when it is not one. */
export function sideFromJson(label: string, data: unknown, key: Buffer, shown: string): DiffSide | undefined {
  if (typeof data !== "object" || data === null || Array.isArray(data)) return undefined;
  const entries = new Map<string, DiffEntry>();
  for (const [name, value] of Object.entries(data)) {
    if (value === null) entries.set(name, { state: "missing", where: shown });
    else if (typeof value === "string" || typeof value === "number" || typeof value === "boolean")
      entries.set(name, valueEntry(key, name, String(value), { where: shown }));
    else return undefined;
  }
  return { label, entries };
}

/** A Kubernetes object (as kubectl prints it, or as rendered) reduced to what diff reads. */
export interface KubeObject {
  kind?: unknown;
  metadata?: { name?: unknown };
  data?: unknown;
  stringData?: unknown;
}

/** The keys of Secret and ConfigMap objects as entries (Secret `data` is base64, `stringData` plain). */
export function addObjectEntries(
  entries: Map<string, DiffEntry>,
  object: KubeObject,
  key: Buffer,
  where: string,
): boolean {
  const kind = object.kind === "Secret" ? "secret" : object.kind === "ConfigMap" ? "config" : undefined;
  if (!kind) return false;
  const name = typeof object.metadata?.name === "string" ? object.metadata.name : "";
  const place = `${where}${name ? ` ${object.kind}/${name}` : ""}`;
  const add = (map: unknown, decode: boolean) => {
    if (typeof map !== "object" || map === null) return;
    for (const [variable, raw] of Object.entries(map)) {
      const text = raw === null || raw === undefined ? "" : String(raw);
      const value = decode ? Buffer.from(text, "base64").toString("utf8") : text;
      entries.set(variable, valueEntry(key, variable, value, { kind, where: place }));
    }
  };
  add(object.data, kind === "secret");
  // The API server folds stringData into data; a rendered file keeps it (it wins over data, as there).
  if (kind === "secret") add(object.stringData, false);
  return true;
}

/** The Secret and ConfigMap documents of a YAML text (documents with errors are passed over). */
function kubeDocuments(text: string): KubeObject[] {
  const out: KubeObject[] = [];
  for (const doc of parseAllDocuments(text)) {
    if (doc.errors.length || !isMap(doc.contents)) continue;
    let data: unknown;
    try {
      data = doc.toJS({ maxAliasCount: 100 });
    } catch {
      continue;
    }
    const kind = (data as KubeObject | null)?.kind;
    if (kind === "Secret" || kind === "ConfigMap") out.push(data as KubeObject);
  }
  return out;
}

/** Rendered Kubernetes YAML (one file, any number of documents): its Secret and ConfigMap keys. */
export function addYamlObjects(
  entries: Map<string, DiffEntry>,
  text: string,
  key: Buffer,
  where: string,
): boolean {
  let found = false;
  for (const object of kubeDocuments(text)) found = addObjectEntries(entries, object, key, where) || found;
  return found;
}

/** Whether a YAML text holds a Secret or ConfigMap (without keeping anything of it). */
export function holdsKubeObjects(text: string): boolean {
  try {
    return kubeDocuments(text).length > 0;
  } catch {
    return false;
  }
}

/** `docker inspect` output: each container's Config.Env as a side's entries (declared names only). */
export function containerEnv(inspected: unknown): { name: string; env: Map<string, string> }[] {
  if (!Array.isArray(inspected)) return [];
  return inspected.map((container: unknown) => {
    const record = (container ?? {}) as { Name?: unknown; Id?: unknown; Config?: { Env?: unknown } };
    const env = new Map<string, string>();
    const list = Array.isArray(record.Config?.Env) ? record.Config.Env : [];
    for (const item of list) {
      if (typeof item !== "string") continue;
      const eq = item.indexOf("=");
      if (eq > 0) env.set(item.slice(0, eq), item.slice(eq + 1));
    }
    const name =
      typeof record.Name === "string"
        ? record.Name.replace(/^\//, "")
        : typeof record.Id === "string"
          ? record.Id.slice(0, 12)
          : "container";
    return { name, env };
  });
}

/** Compare two sides, name by name (left's order, then right's own names). */
export function compareSides(left: DiffSide, right: DiffSide): DiffResult {
  const names = [...left.entries.keys()];
  for (const name of right.entries.keys()) if (!left.entries.has(name)) names.push(name);
  const rows = names.map((name) => compareEntry(name, left.entries.get(name), right.entries.get(name)));
  const counts: Record<RowStatus, number> = { same: 0, differs: 0, "left-only": 0, "right-only": 0 };
  for (const row of rows) counts[row.status]++;
  return {
    left: { label: left.label, notes: left.notes ?? [] },
    right: { label: right.label, notes: right.notes ?? [] },
    differ: rows.some((row) => row.status !== "same"),
    rows,
    counts,
  };
}

function compareEntry(name: string, left?: DiffEntry, right?: DiffEntry): DiffRow {
  const row: DiffRow = { name, status: "same", changes: [] };
  if (left) row.left = left;
  if (right) row.right = right;
  const leftSet = left?.state === "set";
  const rightSet = right?.state === "set";
  if (leftSet && !rightSet) {
    row.status = "left-only";
    row.changes.push("presence");
  } else if (rightSet && !leftSet) {
    row.status = "right-only";
    row.changes.push("presence");
  } else if (!left || !right) {
    // Named on one side only, without a value there: a declaration the other side lacks.
    row.status = left ? "left-only" : "right-only";
    row.changes.push("presence");
  } else if (leftSet && rightSet && left.fingerprint !== right.fingerprint) {
    row.changes.push("value");
  } else if (!leftSet && !rightSet && left.state !== right.state) {
    row.changes.push("presence");
  }
  if (left && right) {
    if (left.kind && right.kind && left.kind !== right.kind) row.changes.push("kind");
    if (left.required !== undefined && right.required !== undefined && left.required !== right.required)
      row.changes.push("required");
  }
  if (row.status === "same" && row.changes.length) row.status = "differs";
  return row;
}

const SYMBOL: Record<RowStatus, string> = { same: "=", differs: "~", "left-only": "<", "right-only": ">" };

function describe(entry: DiffEntry | undefined): string {
  if (!entry) return "absent";
  const state =
    entry.state === "set"
      ? `${entry.template ? "template " : ""}fp ${entry.fingerprint}`
      : entry.state === "missing"
        ? "no value"
        : entry.state;
  return entry.where ? `${entry.where} ${state}` : state;
}

/** The text form: one line per variable, `= ~ < >`, the places and fingerprints; never a value. */
export function formatDiff(result: DiffResult, options: { all?: boolean } = {}): string {
  const lines = [`--- ${result.left.label}`, `+++ ${result.right.label}`];
  for (const note of result.left.notes) lines.push(`# ${result.left.label}: ${note}`);
  for (const note of result.right.notes) lines.push(`# ${result.right.label}: ${note}`);
  const width = Math.max(0, ...result.rows.map((row) => row.name.length));
  for (const row of result.rows) {
    if (row.status === "same" && options.all === false) continue;
    const facts: string[] = [];
    if (row.changes.includes("value")) facts.push("value differs");
    if (row.changes.includes("kind")) facts.push(`${row.left?.kind} → ${row.right?.kind}`);
    if (row.changes.includes("required"))
      facts.push(
        `${row.left?.required ? "required" : "optional"} → ${row.right?.required ? "required" : "optional"}`,
      );
    if (row.status === "left-only") facts.push(`only in ${result.left.label}`);
    if (row.status === "right-only") facts.push(`only in ${result.right.label}`);
    if (row.status === "differs" && row.changes.includes("presence")) facts.push("set differently");
    if (row.status === "same")
      facts.push(row.left?.state === "set" ? "same value" : "no value on either side");
    lines.push(
      `${SYMBOL[row.status]} ${row.name.padEnd(width)}  ${facts.join(", ")}  ${describe(row.left)} | ${describe(row.right)}`,
    );
  }
  if (result.rows.length === 0) lines.push("(no variables)");
  const { counts } = result;
  lines.push(
    `# ${counts.same} same, ${counts.differs} differ, ${counts["left-only"]} only in ${result.left.label}, ${counts["right-only"]} only in ${result.right.label}`,
  );
  return `${lines.join("\n")}\n`;
}

/** The JSON form (never a value: fingerprints, states, places). */
export function diffJson(result: DiffResult): Record<string, unknown> {
  return {
    left: result.left,
    right: result.right,
    differ: result.differ,
    counts: result.counts,
    variables: result.rows,
  };
}
