"use client";
// Edits a task's title, notes, due date, repetition and tags in one write (updateTask).
import { type FormEvent } from "react";
import type { Task } from "@/lib/store";
import { useStore } from "./Workspace";
import { REPEATS, dayOf, dueFromDay, timeZone } from "./dates";

export function TaskEditor({ task, onDone }: { task: Task; onDone: () => void }) {
  const { store } = useStore();

  function save(event: FormEvent<HTMLFormElement>) {
    event.preventDefault();
    const form = new FormData(event.currentTarget);
    const day = String(form.get("due") ?? "");
    const dueDate = day ? dueFromDay(day) : null;
    const rule = String(form.get("repeat") ?? "");
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
