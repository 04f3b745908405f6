/** `?next=`: a path of this app to go to after signing in (never another origin), or null. */
export function safeNext(next: string | undefined): string | null {
  return next && /^\/(?![/\\])/.test(next) ? next : null;
}
