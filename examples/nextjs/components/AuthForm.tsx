"use client";
// Sign up / sign in with Better Auth (email and password); the session is a cookie of the
// app's origin, and todo-api gets JWTs minted from it (lib/api.ts).
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useState, type FormEvent } from "react";
import { authClient } from "@/lib/auth-client";

export function AuthForm({ mode, next }: { mode: "sign-in" | "sign-up"; next: string | null }) {
  const router = useRouter();
  const [error, setError] = useState<string | null>(null);
  const [busy, setBusy] = useState(false);
  const signUp = mode === "sign-up";

  async function submit(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const email = String(form.get("email"));
    const password = String(form.get("password"));
    setBusy(true);
    setError(null);
    const { error } = signUp
      ? await authClient.signUp.email({ email, password, name: String(form.get("name")) })
      : await authClient.signIn.email({ email, password });
    setBusy(false);
    if (error) {
      setError(error.message ?? "Something went wrong");
      return;
    }
    router.replace(next ?? "/lists/inbox");
    router.refresh();
  }

  return (
    <main className="auth">
      <form className="card" onSubmit={submit}>
        <h1>{signUp ? "Create your account" : "Sign in"}</h1>
        {signUp && (
          <label>
            Name
            <input name="name" autoComplete="name" required />
          </label>
        )}
        <label>
          Email
          <input name="email" type="email" autoComplete="email" required />
        </label>
        <label>
          Password
          <input
            name="password"
            type="password"
            minLength={8}
            autoComplete={signUp ? "new-password" : "current-password"}
            required
          />
        </label>
        {error && (
          <p role="alert" className="error">
            {error}
          </p>
        )}
        <button className="primary" type="submit" disabled={busy}>
          {signUp ? "Sign up" : "Sign in"}
        </button>
        <p className="muted">
          {signUp ? (
            <>
              Have an account? <Link href={next ? `/sign-in?next=${encodeURIComponent(next)}` : "/sign-in"}>Sign in</Link>
            </>
          ) : (
            <>
              New here? <Link href={next ? `/sign-up?next=${encodeURIComponent(next)}` : "/sign-up"}>Create an account</Link>
            </>
          )}
        </p>
      </form>
    </main>
  );
}
