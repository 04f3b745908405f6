import { AuthForm } from "@/components/AuthForm";

export default function SignUpPage() {
  return <AuthForm mode="sign-up" />;
}
