'use client';

import { usePathname, useRouter } from 'next/navigation.js';
import { createContext, useCallback, useContext, useEffect, useMemo, useState, type ReactNode } from 'react';
import { createApi, type Api } from './admin-api.js';

export interface AdminUser {
  readonly username: string;
  readonly role: 'viewer' | 'operator';
}

interface AdminContextValue {
  readonly serverUrl: string;
  readonly api: Api;
  readonly user: AdminUser | null;
  readonly setUser: (u: AdminUser | null) => void;
}

const AdminContext = createContext<AdminContextValue | null>(null);

export function useAdmin(): AdminContextValue {
  const ctx = useContext(AdminContext);
  if (!ctx) throw new Error('useAdmin outside <AdminProvider>');
  return ctx;
}

/** Sign-in pages are the only admin pages shown without a session. */
const OPEN_PAGES = new Set(['/admin/login', '/admin/setup']);

/**
 * Session gate for the console: every page except sign-in checks the session with the server first
 * and sends an anonymous visitor to the sign-in page; nothing else is rendered until then.
 */
export function AdminProvider({ serverUrl, children }: { serverUrl: string; children: ReactNode }) {
  const router = useRouter();
  const pathname = usePathname() ?? '/admin';
  const [user, setUser] = useState<AdminUser | null>(null);
  const [checked, setChecked] = useState(false);
  const open = OPEN_PAGES.has(pathname);
  const toLogin = useCallback(() => {
    setUser(null);
    if (!OPEN_PAGES.has(window.location.pathname)) router.replace(`/admin/login?next=${encodeURIComponent(window.location.pathname)}`);
  }, [router]);
  const api = useMemo(() => createApi(serverUrl, toLogin), [serverUrl, toLogin]);

  useEffect(() => {
    if (open) return;
    let live = true;
    api<{ user: AdminUser }>('/api/admin/session').then(
      (r) => live && (setUser(r.user), setChecked(true)),
      () => live && setChecked(true),
    );
    return () => {
      live = false;
    };
  }, [api, open, pathname]);

  const value = useMemo(() => ({ serverUrl, api, user, setUser }), [serverUrl, api, user]);
  let body: ReactNode;
  if (open) body = children;
  else if (!checked || !user) body = <p className="muted" data-testid="admin-gate">Checking your sign-in…</p>;
  else body = children;

  return (
    <AdminContext.Provider value={value}>
      <div className="admin">
        <header className="admin-bar">
          <a href="/admin" className="admin-brand">
            <span className="brand">Chorus</span> admin
          </a>
          {user && !open && (
            <nav className="admin-nav">
              <a href="/admin">Tasks</a>
              <a href="/admin/audit">Audit log</a>
              <a href="/admin/partners">Partner sites</a>
              <a href="/admin/users">Accounts</a>
              <span className="muted small" data-testid="signed-in-as">
                {user.username} · {user.role}
              </span>
              <button
                type="button"
                onClick={async () => {
                  await api('/api/admin/logout', { method: 'POST', body: {} }).catch(() => undefined);
                  setUser(null);
                  router.replace('/admin/login');
                }}
              >
                Sign out
              </button>
            </nav>
          )}
        </header>
        <main className="admin-main">{body}</main>
      </div>
    </AdminContext.Provider>
  );
}
