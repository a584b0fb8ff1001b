/** The full, positioned manifest parse (lazy: it loads the YAML and schema libraries). */

import type { ManifestKind, Spec } from "../model/spec.js";
import { parseDockfile } from "./dockfile.js";
import { parsePloinkyManifest } from "./ploinky.js";
import { parseTesseraManifest } from "./tessera.js";

export function parseManifest(kind: ManifestKind, text: string, file: string, dir: string): Spec {
  switch (kind) {
    case "tessera":
      return parseTesseraManifest(text, file, dir);
    case "dockfile":
      return parseDockfile(text, file, dir);
    case "ploinky":
      return parsePloinkyManifest(text, file, dir);
  }
}
