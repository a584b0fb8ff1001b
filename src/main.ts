/** Entry point of the bundled CLI (dist/cli.cjs). */
import { cli } from "./cli.js";

void cli(process.argv.slice(2));
