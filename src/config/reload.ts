/**
 * Reloading what a configured broker reads from files: the password and ACL files (closing
 * the connections of users removed from a password file or whose password changed), then the
 * TLS certificates. SIGHUP and the admin API's `POST /reload` both call this one function.
 */
import type { Broker } from '../broker.js';
import type { ReloadReport } from '../http/admin/index.js';
import type { Logger } from '../ports/index.js';
import { type AdminTokenReload, reloadAdminTokens } from './reload-tokens.js';
import { closeRevokedLogins } from './revocation.js';
import type { Security } from './security.js';
import type { PlannedListener } from './to-options.js';

/**
 * Reloads every password, ACL and TLS file of a configured broker. Errors are logged and
 * reported, never thrown: a file that fails keeps its previous contents.
 * @param trigger what asked for it, for the log (`SIGHUP`, `admin API`).
 * @param adminTokens where the admin API's tokens are reread from (none: they stay as they are).
 */
export async function reloadConfigured(
  broker: Broker,
  listeners: readonly PlannedListener[],
  security: Security,
  logger: Logger,
  trigger: string,
  adminTokens?: AdminTokenReload,
): Promise<ReloadReport> {
  logger.info({ trigger }, `${trigger}: reloading password, ACL and TLS files`);
  const results = await security.reload();
  const revokedConnections = closeRevokedLogins(broker, listeners, results, logger);
  let tls: ReloadReport['tls'] = { ok: true, error: null };
  try {
    await broker.reloadTls();
  } catch (err) {
    logger.error({ err }, 'could not reload the TLS files; keeping the previous ones');
    tls = { ok: false, error: (err as Error).message };
  }
  const tokens =
    adminTokens === undefined ? null : await reloadAdminTokens(adminTokens, logger, trigger);
  const files = results.map((r) => ({
    path: r.path,
    kind: r.kind,
    ok: r.ok,
    error: r.error ?? null,
    revoked: r.revoked ?? [],
  }));
  // One line sums it up: an operator reads whether the reload took, and what did not.
  const failed = files.filter((f) => !f.ok).map((f) => f.path);
  const ok = failed.length === 0 && tls.ok && tokens?.ok !== false;
  logger[ok ? 'info' : 'warn'](
    {
      trigger,
      files: files.length,
      failed,
      tls: tls.ok ? 'reloaded' : 'failed',
      adminTokens: tokens === null ? 'not configured' : tokens.ok ? 'reloaded' : 'failed',
      clientsClosed: revokedConnections,
    },
    ok
      ? `${trigger}: reload finished`
      : `${trigger}: reload finished with errors (the previous files stay in force)`,
  );
  return { files, revokedConnections, tls, adminTokens: tokens };
}
