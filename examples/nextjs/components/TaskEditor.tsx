"use client";
// Edits a task's title, notes, due date, repetition, reminder and tags in one write (updateTask).
import { useRef, type FormEvent } from "react";
import type { Task } from "@/lib/store";
import { useStore } from "./Workspace";
import { REPEATS, dayOf, dueFromDay, instantOfLocal, localOf, timeZone } from "./dates";

export function TaskEditor({ task, onDone }: { task: Task; onDone: () => void }) {
  const { store } = useStore();
  const remindInput = useRef<HTMLInputElement>(null);

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const day = String(form.get("due") ?? "");
    const dueDate = day ? dueFromDay(day) : null;
    const rule = String(form.get("repeat") ?? "");
    const when = String(form.get("remind") ?? "");
    const remindAt = when ? instantOfLocal(when) : null;
    const tags = String(form.get("tags") ?? "")
      .split(",")
      .map((tag) => tag.trim())
      .filter(Boolean);
    const description = String(form.get("description") ?? "").trim();
    store.updateTask(task.id, {
      title: String(form.get("title")).trim(),
      description: description || null,
      // Only what changed: sending the same due date or rule back would restart the series.
      ...(dueDate !== (task.dueDate && dueFromDay(dayOf(task.dueDate))) ? { dueDate } : {}),
      ...((rule || null) !== task.recurrence ? { recurrence: dueDate ? rule || null : null } : {}),
      ...(dueDate && rule ? { timeZone: timeZone() } : {}),
      // Only when changed too: the same time sent back would re-arm a reminder that fired.
      ...(remindAt !== (task.remindAt && instantOfLocal(localOf(task.remindAt))) ? { remindAt } : {}),
      tags: [...new Map(tags.map((tag) => [tag.toLowerCase(), tag])).values()],
    });
    onDone();
  }

  return (
    <form className="editor" onSubmit={save} aria-label={`Edit ${task.title}`}>
      <label>
        Title
        <input name="title" defaultValue={task.title} required maxLength={200} />
      </label>
      <label>
        Notes
        <textarea name="description" defaultValue={task.description ?? ""} maxLength={1000} rows={2} />
      </label>
      <div className="fields">
        <label>
          Due
          <input name="due" type="date" defaultValue={task.dueDate ? dayOf(task.dueDate) : ""} />
        </label>
        <label>
          Repeat
          <select name="repeat" defaultValue={task.recurrence ?? ""}>
            {REPEATS.map((r) => (
              <option key={r.rule} value={r.rule}>
                {r.label}
              </option>
            ))}
          </select>
        </label>
      </div>
      <div className="remind">
        <label>
          Reminder
          <input
            ref={remindInput}
            name="remind"
            type="datetime-local"
            step={1}
            defaultValue={task.remindAt ? localOf(task.remindAt) : ""}
          />
        </label>
        <button type="button" onClick={() => remindInput.current && (remindInput.current.value = "")}>
          Clear reminder
        </button>
      </div>
      <label>
        Tags <span className="muted">(comma-separated)</span>
        <input name="tags" defaultValue={task.tags.join(", ")} placeholder="work, errands" />
      </label>
      <div className="buttons">
        <button className="primary" type="submit">
          Save
        </button>
        <button type="button" onClick={onDone}>
          Cancel
        </button>
      </div>
    </form>
  );
}
