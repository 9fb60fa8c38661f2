#!/usr/bin/env node
// The `pipit` command runs the compiled CLI in dist/ (built by `npm run build`; `npm pack`
// and `npm install` in a clone build it). Tests run the TypeScript source through tsx instead.
import { existsSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';

const main = join(dirname(fileURLToPath(import.meta.url)), '..', 'dist', 'cli', 'main.js');
if (!existsSync(main)) {
  process.stderr.write(`pipit: ${main} is missing; run \`npm run build\` first\n`);
  process.exit(1);
}
await import(pathToFileURL(main).href);
