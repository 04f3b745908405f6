"use client";
// Accepting an invite link: joins the list (acceptListInvite) and opens it. The list page
// starts its own store, whose first sync brings the shared list and its tasks.
import Link from "next/link";
import { useRouter } from "next/navigation";
import { useEffect, useState } from "react";
import { ApiError, createApi } from "@/lib/api";
import { AcceptListInvite } from "@/lib/operations";

export function AcceptInvite({ apiUrl, token }: { apiUrl: string; token: string }) {
  const router = useRouter();
  const [problem, setProblem] = useState<string | null>(null);

  useEffect(() => {
    const api = createApi(apiUrl);
    let cancelled = false;
    api
      .mutate(AcceptListInvite, { token })
      .then(({ acceptListInvite: list }) => {
        if (!cancelled) router.replace(`/lists/${list.id}`);
      })
      .catch((error: Error) => {
        if (cancelled) return;
        setProblem(
          error instanceof ApiError && error.code === "NOT_FOUND"
            ? "This invite link is not valid: it may have expired or been revoked."
            : error.message,
        );
      })
      .finally(() => api.dispose());
    return () => {
      cancelled = true; // accepting twice changes nothing, so a repeated effect is harmless
    };
  }, [apiUrl, token, router]);

  return (
    <main className="auth">
      <div className="card" role={problem ? "alert" : "status"}>
        <h1>{problem ? "Cannot join the list" : "Joining the list…"}</h1>
        {problem && <p>{problem}</p>}
        <p className="muted">
          <Link href="/lists/inbox">Go to your lists</Link>
        </p>
      </div>
    </main>
  );
}
