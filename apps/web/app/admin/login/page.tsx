'use client';

import { useRouter } from 'next/navigation.js';
import { useEffect, useState, type FormEvent } from 'react';
import { useAdmin, type AdminUser } from '../_components/admin-context.js';

export default function LoginPage() {
  const { api, setUser } = useAdmin();
  const router = useRouter();
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const [needsSetup, setNeedsSetup] = useState(false);

  useEffect(() => {
    api<{ needsSetup: boolean }>('/api/admin/setup').then((r) => setNeedsSetup(r.needsSetup), () => undefined);
  }, [api]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setBusy(true);
    setError(null);
    try {
      const r = await api<{ user: AdminUser }>('/api/admin/login', { method: 'POST', body: { username, password } });
      setUser(r.user);
      const next = new URLSearchParams(window.location.search).get('next');
      router.replace(next && next.startsWith('/admin') && !next.startsWith('/admin/login') ? next : '/admin');
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  }

  return (
    <section className="card narrow">
      <h1>Sign in</h1>
      <p className="muted">The console is for the people who run Chorus tasks.</p>
      {needsSetup && (
        <p className="notice" data-testid="needs-setup">
          No account exists yet. <a href="/admin/setup">Create the first one with the setup token</a> from the server log.
        </p>
      )}
      <form onSubmit={submit} className="form" data-testid="login-form">
        <label>
          Username
          <input name="username" autoComplete="username" value={username} onChange={(e) => setUsername(e.target.value)} required />
        </label>
        <label>
          Password
          <input name="password" type="password" autoComplete="current-password" value={password} onChange={(e) => setPassword(e.target.value)} required />
        </label>
        {error && (
          <p className="error" role="alert" data-testid="login-error">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {busy ? 'Signing in…' : 'Sign in'}
        </button>
      </form>
    </section>
  );
}
