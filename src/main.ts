/** Entry point of the bundled CLI (dist/cli.cjs). */
import { cli } from "./cli.js";
import { mark } from "./timing.js";

mark("bundle loaded");
void cli(process.argv.slice(2));
