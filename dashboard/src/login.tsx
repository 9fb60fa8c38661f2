/**
 * The login form: the token is checked against the API (`GET /nodes`), then kept in this
 * tab's sessionStorage. A refused token is said so, with the API's reason.
 */
import { useState } from 'preact/hooks';
import { ApiError, api, saveToken } from './api.ts';

/** The login form; `onLogin` gets the accepted token. */
export function Login({ onLogin, reason }: { onLogin: () => void; reason: string }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState(reason);
  const [busy, setBusy] = useState(false);
  const submit = async (e: Event) => {
    e.preventDefault();
    setBusy(true);
    try {
      await api('GET', '/nodes', undefined, token.trim());
      saveToken(token.trim());
      onLogin();
    } catch (err) {
      const detail = err instanceof ApiError ? `${err.detail} (HTTP ${err.status})` : String(err);
      setError(`Refused: ${detail}`);
    } finally {
      setBusy(false);
    }
  };
  return (
    <form class="login" onSubmit={submit}>
      <h1>Pipit</h1>
      <p class="muted">
        Log in with an admin API token (<code>adminApi.tokens</code>; make one with{' '}
        <code>pipit token</code>).
      </p>
      <input
        type="password"
        autocomplete="current-password"
        aria-label="Token"
        placeholder="token"
        required
        value={token}
        onInput={(e) => setToken((e.target as HTMLInputElement).value)}
      />
      <button type="submit" disabled={busy}>
        Log in
      </button>
      {error && (
        <p class="error" role="alert">
          {error}
        </p>
      )}
    </form>
  );
}
