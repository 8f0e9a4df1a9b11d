'use client';

import { useCallback, useEffect, useState, type FormEvent } from 'react';
import { useAdmin } from '../_components/admin-context.js';
import { dateTime } from '../_components/format.js';

interface Account {
  id: string;
  username: string;
  role: 'viewer' | 'operator';
  createdAt: number;
  createdBy: string | null;
}

/** Console accounts. Viewers read everything; operators also change tasks and create accounts. */
export default function UsersPage() {
  const { api, user } = useAdmin();
  const [accounts, setAccounts] = useState<Account[]>([]);
  const [form, setForm] = useState({ username: '', password: '', role: 'viewer' });
  const [message, setMessage] = useState<{ kind: 'error' | 'notice'; text: string } | null>(null);

  const load = useCallback(() => {
    api<{ users: Account[] }>('/api/admin/users').then((r) => setAccounts(r.users), (e: Error) => setMessage({ kind: 'error', text: e.message }));
  }, [api]);
  useEffect(load, [load]);

  async function submit(e: FormEvent) {
    e.preventDefault();
    try {
      await api('/api/admin/users', { method: 'POST', body: form });
      setMessage({ kind: 'notice', text: `Account ${form.username} (${form.role}) created.` });
      setForm({ username: '', password: '', role: 'viewer' });
      load();
    } catch (err) {
      setMessage({ kind: 'error', text: (err as Error).message });
    }
  }

  return (
    <>
      <h1>Accounts</h1>
      {message && <p className={message.kind}>{message.text}</p>}
      <table className="table">
        <thead>
          <tr>
            <th>Username</th>
            <th>Role</th>
            <th>Created</th>
            <th>By</th>
          </tr>
        </thead>
        <tbody>
          {accounts.map((a) => (
            <tr key={a.id}>
              <td>{a.username}</td>
              <td>{a.role}</td>
              <td>{dateTime(a.createdAt)}</td>
              <td>{a.createdBy ?? 'first-run setup'}</td>
            </tr>
          ))}
        </tbody>
      </table>
      {user?.role === 'operator' ? (
        <form className="card form narrow" onSubmit={submit}>
          <h2>New account</h2>
          <label>
            Username
            <input value={form.username} onChange={(e) => setForm({ ...form, username: e.target.value })} required autoComplete="off" />
          </label>
          <label>
            Password (at least 10 characters)
            <input type="password" minLength={10} value={form.password} onChange={(e) => setForm({ ...form, password: e.target.value })} required autoComplete="new-password" />
          </label>
          <label>
            Role
            <select value={form.role} onChange={(e) => setForm({ ...form, role: e.target.value })}>
              <option value="viewer">viewer — can watch, cannot change</option>
              <option value="operator">operator — can create and run tasks</option>
            </select>
          </label>
          <button className="primary" type="submit">
            Create account
          </button>
        </form>
      ) : (
        <p className="muted">Only operators can create accounts.</p>
      )}
    </>
  );
}
