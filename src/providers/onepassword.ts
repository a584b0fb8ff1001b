import { resolve } from "node:path";
import { isRecord } from "../model/guards.js";
import { runTool, type ToolOutput } from "./tool.js";
import {
  type Fetched,
  type LookupRequest,
  type Provider,
  type ProviderContext,
  ProviderError,
} from "./types.js";

type Output = ToolOutput;

/** Run op (no shell, no stdin); its output comes back whatever its status. */
function runOp(args: readonly string[], context: ProviderContext, signal: AbortSignal): Promise<Output> {
  return runTool("op", args, {
    env: context.env,
    cwd: resolve(context.dir),
    signal,
    missing: {
      what: "the 1Password CLI (op)",
      hint: "install the 1Password CLI (op, version 2) and put it on PATH",
    },
  });
}

const SIGN_IN_HINT =
  "set OP_SERVICE_ACCOUNT_TOKEN (a service account), or sign in with `eval $(op signin)`; `op whoami` shows who op is";

/** Why an op call failed, from what it printed (never quoted); "missing" when the thing is not there. */
function failure(
  what: string,
  command: string,
  output: Output,
  options: { account?: string; vault?: string; sourceItem: boolean },
): ProviderError | "missing" {
  // op quotes the names it echoes (items, vaults, references): they are not part of the cause. (An
  // apostrophe inside a word, as in "isn't", opens no quote.)
  const text = output.stderr.replace(/"[^"\n]*"|(?<![A-Za-z])'[^'\n]*'/g, '""').toLowerCase();
  if (/no account found|isn't an account|account .*not found|unknown account/.test(text)) {
    return new ProviderError("invalid", `op does not know the account ${options.account ?? "it was given"}`, {
      hint: "`op account list` shows the accounts op knows; account: takes its shorthand, sign-in address or ID",
    });
  }
  if (/permission|forbidden|access denied|not allowed/.test(text)) {
    return new ProviderError("denied", `op was refused access to ${what}`, {
      hint: "the account or service account needs read access to that vault",
    });
  }
  if (
    /not currently signed in|not signed in|signin|sign in|session expired|session has expired|authenticat|unauthori[sz]ed|invalid token|token is invalid|service account token|credentials/.test(
      text,
    )
  ) {
    return new ProviderError("auth", `op is not signed in (reading ${what})`, { hint: SIGN_IN_HINT });
  }
  if (
    /no such host|connection refused|connection reset|network is unreachable|dial tcp|i\/o timeout|tls handshake|timed out/.test(
      text,
    )
  ) {
    return new ProviderError("unreachable", `op could not reach 1Password (reading ${what})`, {
      transient: true,
    });
  }
  if (text.includes("more than one")) {
    return new ProviderError("invalid", `more than one item matches ${what}`, {
      hint: "name the item by its ID, or set vault:",
    });
  }
  if (/isn't a vault|vault .*not found|no vault/.test(text)) {
    if (!command.startsWith("op read")) {
      return new ProviderError(
        "invalid",
        `the vault ${options.vault ?? "given"} was not found (reading ${what})`,
        {
          hint: "vault: takes a vault's name or ID; `op vault list` shows them",
        },
      );
    }
    return "missing";
  }
  if (/isn't an item|not found|does not have a field|no item|could not find|isn't a field/.test(text)) {
    if (options.sourceItem) {
      return new ProviderError(
        "invalid",
        `the item ${what} was not found${options.vault ? ` in the vault ${options.vault}` : ""}`,
        {
          hint: "item: takes an item's name or ID; `op item list` shows them",
        },
      );
    }
    return "missing";
  }
  const how = output.code === null ? `was killed by ${output.signal}` : `exited with status ${output.code}`;
  return new ProviderError("failed", `${command} ${how}`, { hint: `run \`${command}\` yourself to see why` });
}

interface OpField {
  id?: unknown;
  label?: unknown;
  value?: unknown;
  purpose?: unknown;
}

/** The fields of an item as `op item get --format json` prints them. */
function fieldsOf(json: unknown): OpField[] | undefined {
  if (!isRecord(json)) return undefined;
  const fields = json.fields;
  if (fields === undefined) return [];
  if (!Array.isArray(fields)) return undefined;
  return fields.filter((field): field is OpField => field !== null && typeof field === "object");
}

/** The field labelled `name`, else the one whose id is `name`. */
function byName(fields: readonly OpField[], name: string): OpField | undefined {
  return fields.find((field) => field.label === name) ?? fields.find((field) => field.id === name);
}

/** An item's password: the field with purpose PASSWORD, else labelled password, else credential. */
function primary(fields: readonly OpField[]): OpField | undefined {
  return (
    fields.find((field) => field.purpose === "PASSWORD") ??
    byName(fields, "password") ??
    byName(fields, "credential")
  );
}

function fieldValue(field: OpField): string {
  const value = field.value;
  if (value === undefined || value === null) return "";
  return typeof value === "string" ? value : JSON.stringify(value);
}

/** What one request needs: a field of an item (undefined field: its password), a reference, or nothing. */
type Need =
  | { kind: "field"; item: string; field: string | undefined; where: string }
  | { kind: "reference"; reference: string; where: string }
  | { kind: "none"; where: string };

function needOf(request: LookupRequest, item: string | undefined, vault: string | undefined): Need {
  const at = (itemName: string, field: string) => [vault, itemName, field].filter(Boolean).join("/");
  if (request.key.startsWith("op://")) {
    if (request.property !== undefined) {
      throw new ProviderError("invalid", `the reference ${request.key} takes no property`, {
        hint: "an op:// reference names its field: op://vault/item/[section/]field",
      });
    }
    return { kind: "reference", reference: request.key, where: request.key };
  }
  if (request.property !== undefined) {
    return {
      kind: "field",
      item: request.key,
      field: request.property,
      where: at(request.key, request.property),
    };
  }
  if (item !== undefined) return { kind: "field", item, field: request.key, where: at(item, request.key) };
  if (request.searched) return { kind: "none", where: request.key };
  return { kind: "field", item: request.key, field: undefined, where: at(request.key, "password") };
}

type Task = { kind: "item"; name: string } | { kind: "reference"; reference: string };

export const provider: Provider = {
  async fetch(requests: readonly LookupRequest[], context: ProviderContext): Promise<Map<string, Fetched>> {
    const { item, vault, account } = context.source.settings;
    const accountArgs = account ? ["--account", account] : [];
    const needs = requests.map((request) => needOf(request, item, vault));
    const items = [...new Set(needs.flatMap((need) => (need.kind === "field" ? [need.item] : [])))];
    const references = [
      ...new Set(needs.flatMap((need) => (need.kind === "reference" ? [need.reference] : []))),
    ];
    const tasks: Task[] = [
      ...items.map((name): Task => ({ kind: "item", name })),
      ...references.map((reference): Task => ({ kind: "reference", reference })),
    ];
    const itemFields = new Map<string, OpField[] | undefined>();
    const referenceValues = new Map<string, string | undefined>();
    await context.pool(tasks, async (task) => {
      if (task.kind === "item") {
        const args = [
          "item",
          "get",
          ...(vault ? ["--vault", vault] : []),
          ...accountArgs,
          "--format",
          "json",
          "--",
          task.name,
        ];
        const command = `op item get ${task.name}${vault ? ` --vault ${vault}` : ""}${account ? ` --account ${account}` : ""}`;
        const fields = await context.retry(async (signal) => {
          const output = await runOp(args, context, signal);
          if (output.code !== 0) {
            const why = failure(`the item ${task.name}`, command, output, {
              account,
              vault,
              sourceItem: task.name === item,
            });
            if (why === "missing") return undefined;
            throw why;
          }
          let json: unknown;
          try {
            json = JSON.parse(output.stdout.toString("utf8"));
          } catch {
            json = undefined;
          }
          const found = fieldsOf(json);
          if (!found) throw new ProviderError("failed", `${command} did not print an item as JSON`);
          return found;
        });
        itemFields.set(task.name, fields);
      } else {
        const args = ["read", "--no-newline", ...accountArgs, "--", task.reference];
        const command = `op read ${task.reference}`;
        const value = await context.retry(async (signal) => {
          const output = await runOp(args, context, signal);
          if (output.code === 0) return output.stdout.toString("utf8");
          const why = failure(task.reference, command, output, { account, vault, sourceItem: false });
          if (why === "missing") return undefined;
          throw why;
        });
        referenceValues.set(task.reference, value);
      }
    });
    const out = new Map<string, Fetched>();
    requests.forEach((request, index) => {
      const need = needs[index]!;
      let value: string | undefined;
      let where = need.where;
      if (need.kind === "reference") value = referenceValues.get(need.reference);
      else if (need.kind === "field") {
        const fields = itemFields.get(need.item);
        const field = fields && (need.field === undefined ? primary(fields) : byName(fields, need.field));
        value = field ? fieldValue(field) : undefined;
        // An item's password: where shows the field it was found in.
        if (field && need.field === undefined && typeof field.label === "string") {
          where = [vault, need.item, field.label].filter(Boolean).join("/");
        }
      }
      out.set(
        request.id,
        value === undefined ? { status: "missing", where } : { status: "found", value, where },
      );
    });
    return out;
  },
};
