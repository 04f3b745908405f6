import { AuthForm } from "@/components/AuthForm";
import { safeNext } from "@/lib/next-path";

export default async function SignUpPage({ searchParams }: { searchParams: Promise<{ next?: string }> }) {
  return <AuthForm mode="sign-up" next={safeNext((await searchParams).next)} />;
}
