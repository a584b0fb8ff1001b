/**
 * The workspace store as the library offers it (`openStore()` in ../index.ts): names, get, set and unset,
 * over the same modules `tessera var` uses. Reads go through ./store.ts (decrypted natively, the signer
 * checked against `.tessera/recipients`); writes through ./write.ts (the lock, the user's signature, an
 * atomic replace), so a library write is exactly a `tessera var set` / `tessera var unset`.
 *
 * Every call reads the file as it is now (another process may have written it meanwhile). Nothing here
 * prints: a value leaves only as a Value (which prints as [redacted]); notices and warnings go to the
 * caller's callbacks, and no message holds a value.
 */
import { type Diagnostic, formatWarning, TesseraError } from "../errors.js";
import { Value } from "../model/value.js";
import { checkStoreName, storedText } from "./checks.js";
import { readStore } from "./store.js";
import { findWorkspace, storeExists } from "./workspace.js";
import { updateStore } from "./write.js";

type Env = Readonly<Record<string, string | undefined>>;

/** What a store is opened with: the directory to start from and the environment (no defaults here). */
export interface StoreAccessOptions {
  /** Where the workspace is looked for: the nearest directory, from here upwards, with a `.tessera/`. */
  cwd: string;
  /** Where the age identity comes from (TESSERA_AGE_KEY, TESSERA_AGE_KEY_FILE, XDG_CONFIG_HOME, HOME). */
  env: Env;
  /** One-off messages, as `tessera var` prints them on stderr (a key created, a file updated); default: nowhere. */
  notice?: ((text: string) => void) | undefined;
  /** Warnings (W_…), each once per opened store; default: formatted, to `notice`. */
  onWarning?: ((warning: Diagnostic) => void) | undefined;
}

/** Options of a write. */
export interface SetOptions {
  /** Store the value exactly: no `$` is a reference (each is stored as `$$`), as `tessera var set --literal`. */
  literal?: boolean | undefined;
}

/** A value to store: text, or a Value (a resolved one, say), whose text is stored. */
export type StoreInput = string | Value;

/** The workspace store (`.tessera/store.age`) of a project. */
export interface WorkspaceStore {
  /** The directory holding `.tessera/` (absolute). */
  readonly root: string;
  /** `.tessera/store.age` (absolute); it need not exist yet: the first write creates it. */
  readonly file: string;
  /** Whether the store file exists. */
  exists(): boolean;
  /** The stored names, sorted; none when there is no store. */
  names(): Promise<string[]>;
  /**
   * A stored value as stored (a template: `$OTHER` is an alias, left unresolved, as `tessera var get`
   * prints it), or undefined when the name is not stored.
   */
  get(name: string): Promise<Value | undefined>;
  /** Store one value: one locked, signed, atomic write, as `tessera var set NAME VALUE`. */
  set(name: string, value: StoreInput, options?: SetOptions): Promise<void>;
  /** Store several values in one write, as `tessera var set A=… B=…`. */
  set(values: Readonly<Record<string, StoreInput>>, options?: SetOptions): Promise<void>;
  /** Remove a name; resolves to whether it was stored. Without a store, nothing is created. */
  unset(name: string): Promise<boolean>;
}

/** The text to store, checked as `tessera var set` checks it (never quoted in a message). */
function textToStore(name: string, value: unknown, literal: boolean): string {
  const text =
    typeof value === "string"
      ? value
      : value !== null && typeof (value as { reveal?: unknown }).reveal === "function"
        ? (value as Value).reveal()
        : undefined;
  if (typeof text !== "string") {
    throw new TesseraError("E_VALUE_INVALID", `the value of ${name} is not a string`, {
      hint: "store text (or a Value); convert numbers and booleans with String()",
    });
  }
  return storedText(name, text, literal, "pass { literal: true }");
}

/** Open the workspace store for `options.cwd` (nothing is read until a method is called). */
export function openWorkspaceStore(options: StoreAccessOptions): WorkspaceStore {
  const { cwd, env } = options;
  const workspace = findWorkspace(cwd, env.HOME);
  const notice = options.notice ?? (() => {});
  const seen = new Set<string>();
  const report = (warnings: readonly Diagnostic[]) => {
    for (const warning of warnings) {
      const text = formatWarning(warning);
      if (seen.has(text)) continue;
      seen.add(text);
      if (options.onWarning) options.onWarning(warning);
      else notice(`${text}\n`);
    }
  };
  const read = async () => {
    const warnings: Diagnostic[] = [];
    try {
      return await readStore(workspace, env, cwd, warnings);
    } finally {
      report(warnings);
    }
  };
  const change = async (body: (values: Map<string, string>) => boolean) => {
    const warnings: Diagnostic[] = [];
    try {
      await updateStore(workspace, { env, cwd, notice, warnings }, (contents) => body(contents.values));
    } finally {
      report(warnings);
    }
  };

  async function set(
    first: string | Readonly<Record<string, StoreInput>>,
    second?: StoreInput | SetOptions,
    third?: SetOptions,
  ): Promise<void> {
    const single = typeof first === "string";
    const literal = ((single ? third : (second as SetOptions | undefined))?.literal ?? false) === true;
    let pairs: [string, unknown][];
    if (single) pairs = [[first, second]];
    else if (first !== null && typeof first === "object") pairs = Object.entries(first);
    else {
      throw new TesseraError("E_USAGE", "set() takes a name and a value, or an object of names and values");
    }
    const stored = pairs.map(([name, value]): [string, string] => {
      checkStoreName(name);
      return [name, textToStore(name, value, literal)];
    });
    if (stored.length === 0) return;
    await change((values) => {
      for (const [name, text] of stored) values.set(name, text);
      return true;
    });
  }

  return {
    root: workspace.root,
    file: workspace.file,
    exists: () => storeExists(workspace),
    async names() {
      return [...(await read()).values.keys()].sort();
    },
    async get(name) {
      checkStoreName(name);
      const text = (await read()).values.get(name);
      return text === undefined ? undefined : new Value(text);
    },
    set,
    async unset(name) {
      checkStoreName(name);
      // As `tessera var unset`: no store, nothing to remove (and no identity made for nothing).
      if (!storeExists(workspace)) return false;
      let removed = false;
      await change((values) => (removed = values.delete(name)));
      return removed;
    },
  };
}
