/** The operator console: sign-in, then one view per hash route (routes.ts). */
import { render } from 'preact';
import { useEffect, useState } from 'preact/hooks';
import { onSignedOut, signedIn, signOut } from './api.js';
import { href, parseRoute, type Route } from './routes.js';
import { AuditView } from './views/audit.js';
import { MigrationsView } from './views/migrations.js';
import { OverviewView } from './views/overview.js';
import { SignIn } from './views/sign-in.js';
import { TenantView } from './views/tenant.js';
import { TenantsView } from './views/tenants.js';

const nav: { label: string; route: Route }[] = [
  { label: 'Overview', route: { page: 'overview' } },
  { label: 'Tenants', route: { page: 'tenants', query: {} } },
  { label: 'Migrations', route: { page: 'migrations' } },
  { label: 'Audit', route: { page: 'audit', query: {} } },
];

function App() {
  const [session, setSession] = useState(signedIn());
  const [notice, setNotice] = useState<string | undefined>();
  const [route, setRoute] = useState(parseRoute(location.hash));
  useEffect(() => {
    const follow = () => setRoute(parseRoute(location.hash));
    addEventListener('hashchange', follow);
    onSignedOut((reason) => {
      setNotice(reason);
      setSession(false);
    });
    return () => removeEventListener('hashchange', follow);
  }, []);
  useEffect(() => {
    document.getElementById('main')?.focus();
  }, [route.page]);

  if (!session) return <SignIn notice={notice} onSignedIn={() => setSession(true)} />;
  const current = (r: Route) => (r.page === route.page || (r.page === 'tenants' && route.page === 'tenant') ? 'page' : undefined);
  return (
    <>
      <a class="skip" href="#main" onClick={(e) => (e.preventDefault(), document.getElementById('main')?.focus())}>
        Skip to content
      </a>
      <header class="top">
        <strong class="brand">Strata console</strong>
        <nav aria-label="Main">
          {nav.map((item) => (
            <a key={item.label} href={href(item.route)} aria-current={current(item.route)}>
              {item.label}
            </a>
          ))}
        </nav>
        <button type="button" class="secondary" onClick={() => signOut('You signed out.')}>
          Sign out
        </button>
      </header>
      <main id="main" tabIndex={-1}>
        {route.page === 'overview' && <OverviewView />}
        {route.page === 'tenants' && <TenantsView query={route.query} />}
        {route.page === 'tenant' && <TenantView id={route.id} />}
        {route.page === 'migrations' && <MigrationsView />}
        {route.page === 'audit' && <AuditView query={route.query} />}
      </main>
    </>
  );
}

render(<App />, document.getElementById('app')!);
