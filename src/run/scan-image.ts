/**
 * A saved container image (`docker save`, `podman save`): a tar holding manifest.json, the image config
 * and one tar per layer (possibly gzip'd, as an OCI layout writes them). Read with a small tar reader
 * and node's zlib; each file of each layer, and the config (where ENV and build arguments land), is
 * handed to the scanner with the layer's digest.
 */
import { createHash } from "node:crypto";
import { readFileSync } from "node:fs";
import { gunzipSync } from "node:zlib";
import { TesseraError } from "../errors.js";

export interface TarEntry {
  path: string;
  /** "file", "dir", "link" or "other". */
  type: "file" | "dir" | "link" | "other";
  content: Buffer;
}

function field(header: Buffer, from: number, length: number): string {
  const bytes = header.subarray(from, from + length);
  const nul = bytes.indexOf(0);
  return bytes.toString("utf8", 0, nul === -1 ? bytes.length : nul);
}

function octal(header: Buffer, from: number, length: number): number {
  // GNU base-256 for sizes over 8 GiB: a leading 0x80 byte.
  if (header[from]! & 0x80) {
    let value = 0;
    for (let i = from + 1; i < from + length; i++) value = value * 256 + header[i]!;
    return value;
  }
  const text = field(header, from, length).trim();
  return text ? Number.parseInt(text, 8) : 0;
}

/** The entries of a tar (ustar, GNU long names, pax path records). */
export function readTar(tar: Buffer): TarEntry[] {
  const entries: TarEntry[] = [];
  let at = 0;
  let longName: string | undefined;
  let paxPath: string | undefined;
  while (at + 512 <= tar.length) {
    const header = tar.subarray(at, at + 512);
    if (header.every((byte) => byte === 0)) break;
    const size = octal(header, 124, 12);
    const flag = String.fromCharCode(header[156]!);
    const content = tar.subarray(at + 512, at + 512 + size);
    at += 512 + Math.ceil(size / 512) * 512;
    if (flag === "L") {
      longName = field(content, 0, content.length);
      continue;
    }
    if (flag === "x") {
      for (const record of content.toString("utf8").split("\n")) {
        const match = /^\d+ path=(.*)$/.exec(record);
        if (match) paxPath = match[1];
      }
      continue;
    }
    if (flag === "g") continue;
    const magic = field(header, 257, 6);
    const prefix = magic.startsWith("ustar") ? field(header, 345, 155) : "";
    const name =
      paxPath ?? longName ?? (prefix ? `${prefix}/${field(header, 0, 100)}` : field(header, 0, 100));
    longName = undefined;
    paxPath = undefined;
    const type =
      flag === "0" || flag === "\0" || flag === "7"
        ? "file"
        : flag === "5"
          ? "dir"
          : flag === "1" || flag === "2"
            ? "link"
            : "other";
    entries.push({ path: name.replace(/^\.\//, ""), type, content });
  }
  return entries;
}

export interface ImageLayer {
  /** sha256 of the uncompressed layer tar (the image config's diff_id), "sha256:…". */
  digest: string;
  files: TarEntry[];
}

export interface SavedImage {
  /** The image config, as stored (scanned as "config"). */
  config?: Buffer;
  layers: ImageLayer[];
}

function gunzipIfNeeded(bytes: Buffer): Buffer {
  return bytes[0] === 0x1f && bytes[1] === 0x8b ? gunzipSync(bytes) : bytes;
}

/** Read a saved image: its config and its layers' files, in manifest order. */
export function readSavedImage(file: string, shown: string): SavedImage {
  let outer: Buffer;
  try {
    outer = gunzipIfNeeded(readFileSync(file));
  } catch {
    throw new TesseraError("E_FILE_NOT_FOUND", `image ${shown} not found`);
  }
  const entries = new Map<string, TarEntry>();
  for (const entry of readTar(outer)) entries.set(entry.path, entry);
  const manifestEntry = entries.get("manifest.json");
  if (!manifestEntry) {
    throw new TesseraError("E_FILE_INVALID", `${shown} is not a saved image (no manifest.json)`, {
      hint: "give the output of `docker save IMAGE -o image.tar`",
    });
  }
  let manifest: { Config?: string; Layers?: string[] }[];
  try {
    manifest = JSON.parse(manifestEntry.content.toString("utf8")) as typeof manifest;
    if (!Array.isArray(manifest)) throw new Error("not a list");
  } catch {
    throw new TesseraError("E_FILE_INVALID", `${shown}: manifest.json is not a docker-save manifest`);
  }
  const image: SavedImage = { layers: [] };
  const seen = new Set<string>();
  const configs: Buffer[] = [];
  for (const item of manifest) {
    if (item.Config) {
      const config = entries.get(item.Config);
      if (config) configs.push(config.content);
    }
    for (const layerPath of item.Layers ?? []) {
      if (seen.has(layerPath)) continue;
      seen.add(layerPath);
      const entry = entries.get(layerPath);
      if (!entry) {
        throw new TesseraError("E_FILE_INVALID", `${shown}: layer ${layerPath} is listed but not in the tar`);
      }
      const tar = gunzipIfNeeded(entry.content);
      const digest = `sha256:${createHash("sha256").update(tar).digest("hex")}`;
      image.layers.push({ digest, files: readTar(tar).filter((file) => file.type === "file") });
    }
  }
  if (configs.length) image.config = Buffer.concat(configs.flatMap((config) => [config, Buffer.from("\n")]));
  return image;
}
