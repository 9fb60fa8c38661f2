/**
 * The dashboard's shell: the login form until a token is accepted, then the pages (overview,
 * clients, a client, topics, live tap) by the URL's hash, so that each page has a link.
 */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { forgetToken, savedToken, whenUnauthorized } from './api.ts';
import { ClientPage } from './client-page.tsx';
import { Clients } from './clients.tsx';
import { Login } from './login.tsx';
import { Overview } from './overview.tsx';
import { Tap } from './tap.tsx';
import { Topics } from './topics.tsx';
import './style.css';

const PAGES = [
  { hash: '#/overview', label: 'Overview' },
  { hash: '#/clients', label: 'Clients' },
  { hash: '#/topics', label: 'Topics' },
  { hash: '#/tap', label: 'Live tap' },
];

function useHash(): string {
  const [hash, setHash] = useState(location.hash || '#/overview');
  useEffect(() => {
    const update = () => setHash(location.hash || '#/overview');
    addEventListener('hashchange', update);
    return () => removeEventListener('hashchange', update);
  }, []);
  return hash;
}

function Page({ hash }: { hash: string }) {
  if (hash.startsWith('#/clients/')) {
    return <ClientPage clientId={decodeURIComponent(hash.slice('#/clients/'.length))} />;
  }
  if (hash === '#/clients') return <Clients />;
  if (hash === '#/topics') return <Topics />;
  if (hash === '#/tap') return <Tap />;
  return <Overview />;
}

function App() {
  const [loggedIn, setLoggedIn] = useState(savedToken() !== null);
  const [reason, setReason] = useState('');
  const hash = useHash();
  useEffect(
    () =>
      whenUnauthorized((detail) => {
        forgetToken();
        setReason(`Refused: ${detail} (HTTP 401)`);
        setLoggedIn(false);
      }),
    [],
  );
  if (!loggedIn) return <Login reason={reason} onLogin={() => setLoggedIn(true)} />;
  return (
    <div class="app">
      <header>
        <span class="brand">Pipit</span>
        <nav>
          {PAGES.map((p) => (
            <a key={p.hash} href={p.hash} class={hash.startsWith(p.hash) ? 'active' : ''}>
              {p.label}
            </a>
          ))}
        </nav>
        <button
          type="button"
          class="logout"
          onClick={() => {
            forgetToken();
            setReason('');
            setLoggedIn(false);
          }}
        >
          Log out
        </button>
      </header>
      <main>
        <Page hash={hash} />
      </main>
    </div>
  );
}

render(<App />, document.getElementById('app')!);
