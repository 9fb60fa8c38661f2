/**
 * Built-in hooks: password file authentication, ACL file authorization, per-listener policy,
 * the `$SYS` guard and time bounds for custom hooks.
 */
export { type AclAccess, AclFile, type AclIdentityRules } from './acl-file.js';
export { type AclHookOptions, aclFileHook } from './acl-hook.js';
export { type TimeoutOptions, withTimeout } from './auth-timeout.js';
export { FileFormatError } from './file-error.js';
export {
  type ListenerPolicy,
  listenerPolicyHook,
  sysReadOnlyHook,
} from './listener-policy-hook.js';
export {
  defaultHashConcurrency,
  type LoginAttempt,
  LoginGuard,
  type LoginGuardOptions,
  type LoginGuardStats,
  type LoginVerdict,
  type RefusalSink,
} from './login-guard.js';
export { PasswordFile } from './password-file.js';
export { type PasswordHookOptions, passwordFileHook } from './password-hook.js';
export { type Current, fixed, Reloadable } from './reloadable.js';
