/** Placeholder: this provider is being written. */
import { type Provider, ProviderError } from "./types.js";

export const provider: Provider = {
  async fetch() {
    throw new ProviderError("failed", "this store type is not implemented yet");
  },
};
