import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { auth } from "@/lib/auth";
import { AcceptInvite } from "@/components/AcceptInvite";

/** An invite link: signed in, joins the list and opens it; signed out, signs in first. */
export default async function InvitePage({ params }: { params: Promise<{ token: string }> }) {
  const { token } = await params;
  const here = `/invite/${encodeURIComponent(token)}`;
  const session = await auth.api.getSession({ headers: await headers() });
  if (!session) redirect(`/sign-in?next=${encodeURIComponent(here)}`);
  const apiUrl = process.env.TODO_API_URL ?? "http://localhost:8000";
  return <AcceptInvite apiUrl={apiUrl} token={token} />;
}
