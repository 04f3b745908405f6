// Due dates: the date input's day at 09:00 in the browser's time zone, which the task keeps
// (`timeZone`) so a repeating task keeps its wall-clock time across daylight-saving changes.
// Reminders: a datetime-local input's wall-clock time here, sent as an instant (UTC, `Z`).

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

const pad = (n: number) => String(n).padStart(2, "0");

/** The instant → `2027-03-04T09:30:00` (its wall-clock time here), for a datetime-local input. */
export function localOf(iso: string): string {
  const d = new Date(iso);
  return `${dayOf(iso)}T${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}`;
}

/** A datetime-local input's value (wall-clock time here, no offset) → the instant, ISO with `Z`. */
export function instantOfLocal(value: string): string {
  return new Date(value).toISOString();
}

export function reminderLabel(iso: string): string {
  return new Date(iso).toLocaleString("en-GB", {
    weekday: "short",
    day: "numeric",
    month: "short",
    hour: "2-digit",
    minute: "2-digit",
  });
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
