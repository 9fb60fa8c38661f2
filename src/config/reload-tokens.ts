/**
 * Rereading the admin API's tokens (`adminApi.tokens`) from the configuration file on a
 * reload (SIGHUP, `POST /api/v1/reload`): a token removed from the file is refused from then
 * on, a new one accepted. The whole file is validated as at start; a file that does not load
 * keeps the tokens in force and says why.
 */
import type { AdminToken, ReloadReport } from '../http/admin/index.js';
import type { Logger } from '../ports/index.js';
import { ConfigError } from './errors.js';
import { loadConfigFile } from './load.js';
import { adminApiPlan } from './section-plans.js';

/** Where the tokens come from on a reload, and what checks them. */
export interface AdminTokenReload {
  /** The configuration file (absolute path). */
  file: string;
  /** The admin API's token checker (a `TokenVerifier`). */
  verifier: { readonly names: string[]; setTokens(tokens: readonly AdminToken[]): void };
}

/**
 * Rereads the tokens from `reload.file` and puts them in force. Never throws: a failure is
 * logged and reported, and the previous tokens stay.
 */
export async function reloadAdminTokens(
  reload: AdminTokenReload,
  logger: Logger,
  trigger: string,
): Promise<NonNullable<ReloadReport['adminTokens']>> {
  const before = reload.verifier.names;
  try {
    const tokens = adminApiPlan(await loadConfigFile(reload.file)).tokens;
    reload.verifier.setTokens(tokens);
    const names = tokens.map((t) => t.name);
    logger.info(
      {
        trigger,
        file: reload.file,
        tokens: names,
        added: names.filter((n) => !before.includes(n)),
        removed: before.filter((n) => !names.includes(n)),
      },
      `${trigger}: admin API tokens reloaded`,
    );
    return { ok: true, error: null, tokens: names };
  } catch (err) {
    const error = err instanceof ConfigError ? err.problems.join('; ') : (err as Error).message;
    logger.warn(
      { trigger, file: reload.file, error },
      `${trigger}: could not reload the admin API tokens; the previous ones stay in force`,
    );
    return { ok: false, error, tokens: before };
  }
}
