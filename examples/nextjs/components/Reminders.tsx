"use client";
// Reminders that came due (the subscription's `REMINDER` events, or a sync's catch-up): a
// notice on the page until dismissed, and a browser notification when the user allowed them
// (asked only from a click on "Enable notifications"; nothing waits for the answer).
import Link from "next/link";
import { useEffect, useRef, useState } from "react";
import { useStore } from "./Workspace";
import { reminderLabel } from "./dates";

type Permission = NotificationPermission | "unsupported";

const permissionNow = (): Permission =>
  typeof window === "undefined" || !("Notification" in window) ? "unsupported" : Notification.permission;

export function ReminderNotices() {
  const { store, view } = useStore();
  /** The reminders already sent as browser notifications. */
  const notified = useRef(new Set<string>());

  useEffect(() => {
    for (const reminder of view.reminders) {
      if (notified.current.has(reminder.key)) continue;
      notified.current.add(reminder.key);
      if (permissionNow() !== "granted") continue;
      try {
        const notification = new Notification(`Reminder: ${reminder.title}`, {
          body: reminder.remindAt ? reminderLabel(reminder.remindAt) : undefined,
          tag: reminder.key,
        });
        notification.onclick = () => window.focus();
      } catch {
        // Some browsers allow notifications from a service worker only: the notice stays.
      }
    }
  }, [view.reminders]);

  return (
    <div className="reminders" role="status" aria-label="Reminders">
      {view.reminders.map((reminder) => (
        <div key={reminder.key} className="notice" data-testid="reminder-notice">
          <Bell />
          <div className="body">
            <strong>Reminder: {reminder.title}</strong>
            <span className="muted">
              {reminder.remindAt && <time dateTime={reminder.remindAt}>{reminderLabel(reminder.remindAt)}</time>}
              {" · "}
              <Link href={`/lists/${reminder.listId ?? "inbox"}`}>Open the list</Link>
            </span>
          </div>
          <button
            className="link"
            onClick={() => store.dismissReminder(reminder.key)}
            aria-label={`Dismiss the reminder of ${reminder.title}`}
          >
            Dismiss
          </button>
        </div>
      ))}
    </div>
  );
}

/** A bell, drawn (no emoji font needed). */
export function Bell() {
  return (
    <svg className="bell" viewBox="0 0 16 16" width="1em" height="1em" aria-hidden="true">
      <path
        fill="currentColor"
        d="M8 1.5a1 1 0 0 1 1 1v.6a4.5 4.5 0 0 1 3.5 4.4v2.8l1.2 1.6a.6.6 0 0 1-.5 1H2.8a.6.6 0 0 1-.5-1l1.2-1.6V7.5A4.5 4.5 0 0 1 7 3.1v-.6a1 1 0 0 1 1-1ZM6.3 13.8h3.4a1.7 1.7 0 0 1-3.4 0Z"
      />
    </svg>
  );
}

/** The sidebar's offer to show reminders as browser notifications too. */
export function NotificationsToggle() {
  const [permission, setPermission] = useState<Permission>(permissionNow);

  if (permission === "unsupported") return null;
  if (permission !== "default") {
    return (
      <p className="muted notifications" data-testid="notifications">
        {permission === "granted" ? "Reminders also as notifications" : "Notifications blocked"}
      </p>
    );
  }
  return (
    <button
      className="link notifications"
      onClick={() => {
        // Asked from the click itself; the page goes on meanwhile.
        void Notification.requestPermission()
          .then(setPermission)
          .catch(() => setPermission(permissionNow()));
      }}
    >
      Enable notifications
    </button>
  );
}
