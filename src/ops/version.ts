/**
 * Pipit's version, read once from package.json (two levels up from src/ops and dist/ops
 * alike), for `pipit --version`, the start banner and `$SYS/broker/version`.
 */
import { readFileSync } from 'node:fs';

let cached: string | undefined;

/**
 * The `version` field of Pipit's package.json; `unknown` when it cannot be read (an
 * application bundled without it), so that a broker still starts.
 */
export function packageVersion(): string {
  if (cached !== undefined) return cached;
  try {
    const pkg = JSON.parse(readFileSync(new URL('../../package.json', import.meta.url), 'utf8'));
    cached = String(pkg.version);
  } catch {
    cached = 'unknown';
  }
  return cached;
}
