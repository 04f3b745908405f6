import { headers } from "next/headers";
import { redirect } from "next/navigation";
import { auth } from "@/lib/auth";
import { Workspace } from "@/components/Workspace";

/** Signed-in only. The API's address is read when the server runs, not when it is built. */
export default async function ListsLayout({ children }: { children: React.ReactNode }) {
  const session = await auth.api.getSession({ headers: await headers() });
  if (!session) redirect("/sign-in");
  const apiUrl = process.env.TODO_API_URL ?? "http://localhost:8000";
  return (
    <Workspace apiUrl={apiUrl} user={{ id: session.user.id, email: session.user.email }}>
      {children}
    </Workspace>
  );
}
