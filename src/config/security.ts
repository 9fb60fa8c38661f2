/**
 * Turns the listeners' auth settings into hooks: loads each password and ACL file once
 * (listeners that name the same file share it), and reloads them all on demand (SIGHUP).
 *
 * Chain order: `$SYS` guard, then per listener its password and ACL hooks, then custom hooks
 * (bounded by hookTimeoutMs), then the listener policy that has the last word.
 */
import { BRIDGE_LISTENER } from '../bridge/index.js';
import type { Hook } from '../core/index.js';
import {
  AclFile,
  aclFileHook,
  type ListenerPolicy,
  LoginGuard,
  type LoginGuardOptions,
  listenerPolicyHook,
  PasswordFile,
  passwordFileHook,
  Reloadable,
  sysReadOnlyHook,
  withTimeout,
} from '../hooks/index.js';
import type { Logger } from '../ports/index.js';
import { silentLogger } from '../ports/index.js';
import { loadSecureContextOptions } from '../transport/tls-context.js';
import { ConfigError } from './errors.js';
import type { ListenerAuth, PlannedListener } from './to-options.js';

/** The outcome of reloading one file. */
export interface ReloadResult {
  path: string;
  kind: 'password' | 'acl';
  ok: boolean;
  error?: string;
  /** Password files reloaded: the users removed or whose password changed. */
  revoked?: string[];
}

/** Loaded security: the hooks to install and how to reload their files. */
export interface Security {
  hooks: Hook[];
  /**
   * Re-reads every password and ACL file; a file that fails keeps its old contents. A
   * reloaded password file also empties the login cache.
   */
  reload(): Promise<ReloadResult[]>;
  /**
   * The one login guard every password file hook shares (one hash queue per process).
   * Hand it the broker's refusal log with `reportTo(broker.core.refusals)`.
   */
  loginGuard: LoginGuard;
}

/** Options of {@link loadSecurity}. */
export interface SecurityOptions {
  /** auth.hookTimeoutMs: bound for each answer of a custom hook. */
  hookTimeoutMs: number;
  logger?: Logger;
  /** Custom hooks (e.g. an auth service), placed between the file hooks and the policy. */
  customHooks?: readonly Hook[];
  /** Settings of the login guard (auth.login); defaults otherwise. */
  login?: LoginGuardOptions;
  /** With bridges: the auth of their incoming messages (BrokerPlan.bridgeAuth). */
  bridgeAuth?: ListenerAuth;
}

/** The listener entry that scopes the bridges' hooks (never listened on). */
const BRIDGE_SCOPE = { type: 'mqtt', port: 0, host: '', name: BRIDGE_LISTENER } as const;

type Loaded =
  | { kind: 'password'; file: Reloadable<PasswordFile> }
  | { kind: 'acl'; file: Reloadable<AclFile> };

function describeError(err: unknown): string {
  const e = err as NodeJS.ErrnoException;
  if (e.code === 'ENOENT') return 'no such file';
  if (e.code === 'EACCES') return 'permission denied';
  return e.message;
}

/** Loads each distinct file once; problems name the key that points at the file. */
async function loadFiles(listeners: readonly PlannedListener[], logger: Logger) {
  const files = new Map<string, Loaded>();
  const problems: string[] = [];
  const load = async (kind: 'password' | 'acl', path: string, key: string) => {
    const id = `${kind}:${path}`;
    if (files.has(id)) return;
    try {
      if (kind === 'password') {
        files.set(id, { kind, file: await Reloadable.load(path, PasswordFile.load) });
      } else {
        const file = await Reloadable.load(path, AclFile.load);
        for (const warning of file.current.warnings) logger.warn({ file: path }, warning);
        files.set(id, { kind, file });
      }
    } catch (err) {
      const fileError = (err as Error).name === 'FileFormatError';
      const text = fileError
        ? (err as Error).message
        : `cannot read "${path}" (${describeError(err)})`;
      problems.push(`${key}: ${text}`);
    }
  };
  for (const { auth } of listeners) {
    if (auth.passwordFile) await load('password', auth.passwordFile, auth.sources.passwordFile);
    if (auth.aclFile) await load('acl', auth.aclFile, auth.sources.aclFile);
  }
  return { files, problems };
}

/** Loads every listener's TLS files once, as the transport will: readable, PEM, matching. */
async function checkTlsFiles(listeners: readonly PlannedListener[]): Promise<string[]> {
  const problems: string[] = [];
  for (const [index, { listen }] of listeners.entries()) {
    if (listen.tls === undefined) continue;
    try {
      await loadSecureContextOptions(listen.tls);
    } catch (err) {
      problems.push(`listeners[${index}].tls: ${(err as Error).message}`);
    }
  }
  return problems;
}

function buildHooks(
  listeners: readonly PlannedListener[],
  files: Map<string, Loaded>,
  options: SecurityOptions,
  guard: LoginGuard,
): Hook[] {
  const custom = (options.customHooks ?? []).map((hook) =>
    withTimeout(hook, { timeoutMs: options.hookTimeoutMs, logger: options.logger }),
  );
  const otherAuth = custom.some((hook) => hook.authenticate !== undefined);
  const hooks: Hook[] = [sysReadOnlyHook()];
  const policies = new Map<string, ListenerPolicy>();
  for (const { listen, auth } of listeners) {
    const scope = { listeners: [listen.name] };
    if (auth.passwordFile) {
      const file = files.get(`password:${auth.passwordFile}`)!.file as Reloadable<PasswordFile>;
      const skipCertificateClients = auth.identityAsUsername;
      hooks.push(
        passwordFileHook(file, {
          ...scope,
          deferUnknown: otherAuth,
          skipCertificateClients,
          guard,
        }),
      );
    }
    if (auth.aclFile) {
      hooks.push(aclFileHook(files.get(`acl:${auth.aclFile}`)!.file as Reloadable<AclFile>, scope));
    }
    policies.set(listen.name, {
      allowAnonymous: auth.allowAnonymous,
      hasPasswordFile: auth.passwordFile !== undefined,
      hasAcl: auth.aclFile !== undefined,
      identityAsUsername: auth.identityAsUsername,
    });
  }
  return [...hooks, ...custom, listenerPolicyHook(policies)];
}

/**
 * The warning for a listener whose ACL file names users or client ids while nothing on the
 * listener verifies who a client is (no password file, no certificate identity, no custom
 * authenticate hook), or undefined. Such rules protect nothing there: `user` blocks and
 * `%u` never apply to a username a client merely claims, and a `%c` grant goes to whoever
 * picks that client id.
 */
export function aclWithoutAuthentication(
  { listen, auth }: PlannedListener,
  acl: AclFile,
  customAuthentication: boolean,
): string | undefined {
  if (auth.passwordFile !== undefined || auth.identityAsUsername || customAuthentication) {
    return undefined;
  }
  const { users, usernamePatterns, clientIdPatterns } = acl.identityRules;
  const parts: string[] = [];
  if (users > 0) parts.push(`${users} user block${users === 1 ? '' : 's'}`);
  if (usernamePatterns > 0)
    parts.push(`${usernamePatterns} %u pattern${usernamePatterns === 1 ? '' : 's'}`);
  if (clientIdPatterns > 0)
    parts.push(`${clientIdPatterns} %c pattern${clientIdPatterns === 1 ? '' : 's'}`);
  if (parts.length === 0) return undefined;
  return (
    `listener ${listen.name}: ${auth.sources.aclFile} has ${parts.join(', ')}, but no password ` +
    'file or certificate identity authenticates clients there: a username a client claims is ' +
    'not trusted (user blocks and %u never apply, every client gets the anonymous rules) and ' +
    'any client may pick a client id (%c grants go to whoever does); set auth.passwordFile'
  );
}

function warnAboutAcls(
  listeners: readonly PlannedListener[],
  files: Map<string, Loaded>,
  options: SecurityOptions,
  logger: Logger,
): void {
  const custom = (options.customHooks ?? []).some((hook) => hook.authenticate !== undefined);
  for (const listener of listeners) {
    if (listener.auth.aclFile === undefined) continue;
    const acl = files.get(`acl:${listener.auth.aclFile}`)!.file as Reloadable<AclFile>;
    const warning = aclWithoutAuthentication(listener, acl.current, custom);
    if (warning !== undefined) logger.warn({ listener: listener.listen.name }, warning);
  }
}

/**
 * Loads the password and ACL files of `listeners`, checks their TLS files, and builds the
 * hook chain.
 * @throws ConfigError naming the key of each file that is missing, unreadable or malformed.
 */
export async function loadSecurity(
  listeners: readonly PlannedListener[],
  options: SecurityOptions,
): Promise<Security> {
  const logger = options.logger ?? silentLogger;
  // Bridged messages are authorized like a listener's clients, under the bridges' name.
  const scoped: PlannedListener[] = options.bridgeAuth
    ? [...listeners, { listen: BRIDGE_SCOPE, auth: options.bridgeAuth }]
    : [...listeners];
  const { files, problems } = await loadFiles(scoped, logger);
  problems.push(...(await checkTlsFiles(listeners)));
  if (problems.length > 0) throw new ConfigError(problems);
  warnAboutAcls(listeners, files, options, logger);
  const loginGuard = new LoginGuard({ ...options.login, logger });
  const reload = async (): Promise<ReloadResult[]> => {
    const results: ReloadResult[] = [];
    for (const { kind, file } of files.values()) {
      try {
        const previous = file.current;
        const loaded = await file.reload();
        if (kind === 'password') loginGuard.clearCache();
        if (loaded instanceof AclFile) {
          for (const warning of loaded.warnings) logger.warn({ file: file.path }, warning);
        }
        logger.info({ file: file.path }, `reloaded the ${kind} file`);
        const result: ReloadResult = { path: file.path, kind, ok: true };
        if (previous instanceof PasswordFile && loaded instanceof PasswordFile) {
          result.revoked = previous.revokedIn(loaded);
        }
        results.push(result);
      } catch (err) {
        const error =
          (err as Error).name === 'FileFormatError' ? (err as Error).message : describeError(err);
        logger.error(
          { file: file.path, error },
          `could not reload the ${kind} file; keeping the previous one`,
        );
        results.push({ path: file.path, kind, ok: false, error });
      }
    }
    return results;
  };
  return { hooks: buildHooks(scoped, files, options, loginGuard), reload, loginGuard };
}
