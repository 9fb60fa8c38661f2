/**
 * The Pipit CLI as the tests' child processes run it: the compiled `dist/cli/main.js`, as
 * users run it (`npx pipit`, `npm start`). It starts in a fraction of the CPU that
 * `node --import tsx src/cli/main.ts` takes (~2 s per start under tsx), which the crash loops
 * and the CLI parity tests pay hundreds of times. scripts/run-tests.mjs builds dist/ first
 * when it is older than the sources; a test file run on its own with a stale dist/ fails
 * here, naming the fix, rather than testing old code.
 */
import { existsSync, readdirSync, statSync } from 'node:fs';
import { dirname, join, resolve } from 'node:path';
import { fileURLToPath } from 'node:url';

const ROOT = resolve(dirname(fileURLToPath(import.meta.url)), '../..');
const MAIN = join(ROOT, 'dist', 'cli', 'main.js');
/** What the build reads (as scripts/build.mjs checks it). */
const INPUTS = ['src', 'package.json', 'tsconfig.json', 'tsconfig.build.json'];

function newest(path: string): number {
  const st = statSync(path);
  if (!st.isDirectory()) return st.mtimeMs;
  let max = st.mtimeMs;
  for (const name of readdirSync(path)) max = Math.max(max, newest(join(path, name)));
  return max;
}

let checked = false;

/**
 * The absolute path of the compiled CLI entry (`node <it> broker ...`).
 * @throws Error when dist/ is missing or older than a source: run `npm run build` (or the
 *   tests through `npm test`, which builds it).
 */
export function cliEntry(): string {
  if (!checked) {
    const built = existsSync(MAIN) ? statSync(MAIN).mtimeMs : 0;
    const stale = INPUTS.filter((input) => existsSync(join(ROOT, input))).some(
      (input) => newest(join(ROOT, input)) > built,
    );
    if (stale) {
      throw new Error(
        `${MAIN} is missing or older than the sources: run \`npm run build\` (npm test builds it first)`,
      );
    }
    checked = true;
  }
  return MAIN;
}
