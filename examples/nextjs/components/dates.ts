// Due dates: the date input's day at 09:00 in the browser's time zone, which the task keeps
// (`timeZone`) so a repeating task keeps its wall-clock time across daylight-saving changes.

export const timeZone = () => Intl.DateTimeFormat().resolvedOptions().timeZone;

/** `2027-03-04` → the instant 09:00 that day, here. */
export function dueFromDay(day: string): string {
  return new Date(`${day}T09:00:00`).toISOString();
}

/** The instant → `2027-03-04` (its day here), for a date input. */
export function dayOf(iso: string): string {
  const d = new Date(iso);
  const pad = (n: number) => String(n).padStart(2, "0");
  return `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())}`;
}

export function dueLabel(iso: string): string {
  const due = new Date(iso);
  const text = due.toLocaleDateString("en-GB", { weekday: "short", day: "numeric", month: "short", year: "numeric" });
  return due.getTime() < Date.now() ? `${text} (overdue)` : text;
}

export const REPEATS = [
  { rule: "", label: "Does not repeat" },
  { rule: "FREQ=DAILY", label: "Every day" },
  { rule: "FREQ=WEEKLY", label: "Every week" },
  { rule: "FREQ=MONTHLY", label: "Every month" },
  { rule: "FREQ=YEARLY", label: "Every year" },
] as const;

export function repeatLabel(rule: string): string {
  return REPEATS.find((r) => r.rule === rule)?.label.toLowerCase() ?? rule;
}
