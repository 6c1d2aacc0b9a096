/** The console's pages as URL hashes (#/tenants?tier=pooled), so reloads and links keep the view. */
export type Route =
  | { page: 'overview' }
  | { page: 'tenants'; query: Record<string, string> }
  | { page: 'tenant'; id: string }
  | { page: 'migrations' }
  | { page: 'audit'; query: Record<string, string> };

const uuid = /^[0-9a-f]{8}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{4}-[0-9a-f]{12}$/;

export function parseRoute(hash: string): Route {
  const [path = '', search = ''] = hash.replace(/^#/, '').split('?');
  const query = Object.fromEntries(new URLSearchParams(search));
  const parts = path.split('/').filter(Boolean);
  if (parts[0] === 'tenants' && parts[1] && uuid.test(parts[1])) return { page: 'tenant', id: parts[1] };
  if (parts[0] === 'tenants') return { page: 'tenants', query };
  if (parts[0] === 'migrations') return { page: 'migrations' };
  if (parts[0] === 'audit') return { page: 'audit', query };
  return { page: 'overview' };
}

export function href(route: Route): string {
  const withQuery = (path: string, query: Record<string, string>) => {
    const search = new URLSearchParams(Object.entries(query).filter(([, v]) => v !== '')).toString();
    return `#/${path}${search ? `?${search}` : ''}`;
  };
  switch (route.page) {
    case 'overview':
      return '#/';
    case 'tenants':
      return withQuery('tenants', route.query);
    case 'tenant':
      return `#/tenants/${route.id}`;
    case 'migrations':
      return '#/migrations';
    case 'audit':
      return withQuery('audit', route.query);
  }
}
