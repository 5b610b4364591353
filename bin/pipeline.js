#!/usr/bin/env node
// The command is compiled by `npm ci` / `npm run build` (the prepare script) into dist/.
import '../dist/cli/main.js';
