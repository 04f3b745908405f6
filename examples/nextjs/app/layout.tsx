import type { Metadata } from "next";
import "./globals.css";

export const metadata: Metadata = {
  title: "Todo · todo-api example",
  description: "A Next.js + Better Auth todo app on todo-api",
};

export default function RootLayout({ children }: { children: React.ReactNode }) {
  return (
    <html lang="en">
      <body>{children}</body>
    </html>
  );
}
