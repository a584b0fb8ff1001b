#!/usr/bin/env -S node --
"use strict";
// The `--` matters: Node 20 scans the whole command line for its own --env-file option (nodejs/node#54232)
// and exits when that file does not exist; `node --` ends Node's options, so `--env-file` reaches Tessera.
require("../dist/cli.cjs");
