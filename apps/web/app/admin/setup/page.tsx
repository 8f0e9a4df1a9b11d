'use client';

import { useRouter } from 'next/navigation.js';
import { useState, type FormEvent } from 'react';
import { useAdmin, type AdminUser } from '../_components/admin-context.js';

/** First run: the one-time setup token from the server log creates the first operator account. */
export default function SetupPage() {
  const { api, setUser } = useAdmin();
  const router = useRouter();
  const [form, setForm] = useState({ setupToken: '', username: '', password: '' });
  const [error, setError] = useState<string | null>(null);

  async function submit(e: FormEvent) {
    e.preventDefault();
    setError(null);
    try {
      const r = await api<{ user: AdminUser }>('/api/admin/setup', { method: 'POST', body: form });
      setUser(r.user);
      router.replace('/admin');
    } catch (err) {
      setError((err as Error).message);
    }
  }

  const field = (key: keyof typeof form) => ({ value: form[key], onChange: (e: { target: { value: string } }) => setForm({ ...form, [key]: e.target.value }), required: true });
  return (
    <section className="card narrow">
      <h1>Create the first account</h1>
      <p className="muted">
        The server prints a one-time setup token in its log when it starts without any account. It works once; the account it
        creates is an operator.
      </p>
      <form onSubmit={submit} className="form">
        <label>
          Setup token
          <input name="setupToken" autoComplete="off" {...field('setupToken')} />
        </label>
        <label>
          Username
          <input name="username" autoComplete="username" {...field('username')} />
        </label>
        <label>
          Password (at least 10 characters)
          <input name="password" type="password" autoComplete="new-password" minLength={10} {...field('password')} />
        </label>
        {error && (
          <p className="error" role="alert">
            {error}
          </p>
        )}
        <button className="primary" type="submit">
          Create account and sign in
        </button>
      </form>
    </section>
  );
}
