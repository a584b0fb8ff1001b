/**
 * The published JSON Schema is what editors check tessera.yaml against: it must refuse what `check`
 * refuses in sources (one branch per type, no catch-all), and describe every field it offers.
 */
import assert from "node:assert/strict";
import { describe, test } from "node:test";
import { Ajv } from "ajv";
import { parse } from "yaml";
import { jsonSchema, STORE_TYPES } from "../../src/manifest/schema.ts";
import { parseTesseraManifest } from "../../src/manifest/tessera.ts";

const ajv = new Ajv({ allErrors: true, strict: false });
const validate = ajv.compile(jsonSchema());
const valid = (yaml: string) => validate(parse(yaml));
const accepted = (yaml: string) => {
  try {
    parseTesseraManifest(yaml, "tessera.yaml", "/project");
    return true;
  } catch {
    return false;
  }
};

describe("the published JSON Schema", () => {
  test("editors and check agree on sources: typos, missing paths and unknown types are refused by both", () => {
    const cases: [string, boolean][] = [
      ["sources:\n  - { type: vault, address: 'https://vault.example.test', path: app }\n", true],
      ["sources:\n  - { type: vault, adress: 'https://vault.example.test', path: app }\n", false],
      ["sources:\n  - { type: dotenv }\n", false],
      ["sources:\n  - { type: dotenv, path: .env.shared }\n", true],
      ["sources:\n  - { type: files, path: /run/secrets }\n", true],
      ["sources:\n  - { type: s3, bucket: b }\n", false],
      ["profiles:\n  production:\n    sources:\n      - { type: s3 }\n", false],
      ["profiles:\n  production:\n    sources:\n      - { type: aws-ssm, path: /app/ }\n", true],
      ["service: { name: agent, port: 70000 }\n", false],
      ["service: { name: agent, port: 8080 }\n", true],
      ["emptyIsUnset: true\n", true],
    ];
    for (const [yaml, expected] of cases) {
      assert.equal(valid(yaml), expected, `editor: ${yaml} ${JSON.stringify(validate.errors)}`);
      assert.equal(accepted(yaml), expected, `check: ${yaml}`);
    }
  });

  test("one branch per source type, each with a const type", () => {
    const schema = jsonSchema() as {
      properties: { sources: { items: { anyOf: { properties: { type: { const?: string } } }[] } } };
    };
    const types = schema.properties.sources.items.anyOf.map((branch) => branch.properties.type.const);
    assert.deepEqual([...types].sort(), ["dotenv", "files", "yaml", ...STORE_TYPES].sort());
  });

  test("every field has a description", () => {
    const missing: string[] = [];
    const walk = (node: unknown, path: string) => {
      if (Array.isArray(node)) {
        for (const [index, entry] of node.entries()) walk(entry, `${path}[${index}]`);
        return;
      }
      if (!node || typeof node !== "object") return;
      const record = node as Record<string, unknown>;
      // Named fields need a description; a pattern's entries (NAME: value) are described by their mapping.
      for (const key of ["properties"]) {
        const fields = record[key];
        if (!fields || typeof fields !== "object") continue;
        for (const [name, field] of Object.entries(fields as Record<string, unknown>)) {
          const described = (schema: unknown): boolean => {
            if (!schema || typeof schema !== "object") return false;
            const entry = schema as Record<string, unknown>;
            if (typeof entry.description === "string" && entry.description) return true;
            // A type discriminator needs none; a union is described if each of its branches is.
            if ("const" in entry) return true;
            const branches = entry.anyOf;
            return Array.isArray(branches) && branches.length > 0 && branches.every(described);
          };
          if (!described(field)) missing.push(`${path}.${name}`);
        }
      }
      for (const [key, value] of Object.entries(record)) walk(value, `${path}.${key}`);
    };
    walk(jsonSchema(), "$");
    assert.deepEqual(missing, []);
  });
});
