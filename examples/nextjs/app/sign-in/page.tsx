import { AuthForm } from "@/components/AuthForm";
import { safeNext } from "@/lib/next-path";

/** `?next=/invite/…`: where to go once signed in (an invite link opened signed out). */
export default async function SignInPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  return <AuthForm mode="sign-in" next={safeNext((await searchParams).next)} />;
}
