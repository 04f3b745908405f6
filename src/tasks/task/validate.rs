//! A task's create input and patch checked field by field, every failure reported at once
//! (FastAPI-style), with the values normalised: what the store may write. A field's rule is
//! one line here calling `rules` (or `series`, `tags`) for it.

use crate::error::{AppError, AppResult, FieldError};
use crate::tasks::series::recurrence::{needs_due_date, validate_recurrence, validate_time_zone};
use crate::tasks::tags::rules::validate_tags;
use crate::tasks::task::model::{NewTask, TaskPatch};
use crate::tasks::task::rules::{
    validate_assignee_id, validate_description, validate_due_date, validate_time, validate_title,
};

impl NewTask {
    /// The input checked field by field (every failure reported at once, FastAPI-style), with
    /// its title trimmed: what the store may write.
    pub(crate) fn validated(mut self) -> AppResult<NewTask> {
        let mut errors = Vec::new();
        if let Some(id) = &self.assignee_id {
            validate_assignee_id(id).unwrap_or_else(|e| errors.push(e));
        }
        match validate_title(&self.title) {
            Ok(title) => self.title = title,
            Err(e) => errors.push(e),
        }
        if let Some(description) = &self.description {
            validate_description(description).unwrap_or_else(|e| errors.push(e));
        }
        if let Some(due) = self.due_date {
            validate_due_date(due).unwrap_or_else(|e| errors.push(e));
        }
        if let Some(at) = self.remind_at {
            validate_time("remind_at", at).unwrap_or_else(|e| errors.push(e));
        }
        if let Some(raw) = &self.recurrence {
            match validate_recurrence(raw) {
                Ok(_) if self.due_date.is_none() => errors.push(needs_due_date(raw)),
                Ok(rule) => self.recurrence = Some(rule),
                Err(e) => errors.push(e),
            }
        }
        last_checks(&mut self.time_zone, &mut self.tags, errors)?;
        Ok(self)
    }
}

impl TaskPatch {
    /// The patch checked field by field as [`NewTask::validated`], with its title trimmed.
    pub(crate) fn validated(mut self) -> AppResult<TaskPatch> {
        let mut errors = Vec::new();
        if let Some(Some(id)) = &self.assignee_id {
            validate_assignee_id(id).unwrap_or_else(|e| errors.push(e));
        }
        if let Some(title) = &self.title {
            match validate_title(title) {
                Ok(title) => self.title = Some(title),
                Err(e) => errors.push(e),
            }
        }
        if let Some(Some(description)) = &self.description {
            validate_description(description).unwrap_or_else(|e| errors.push(e));
        }
        if let Some(Some(due)) = self.due_date {
            validate_due_date(due).unwrap_or_else(|e| errors.push(e));
        }
        if let Some(Some(at)) = self.remind_at {
            validate_time("remind_at", at).unwrap_or_else(|e| errors.push(e));
        }
        // Whether the task will have a due date is the series' to check (`tasks::series`).
        if let Some(Some(raw)) = &self.recurrence {
            match validate_recurrence(raw) {
                Ok(rule) => self.recurrence = Some(Some(rule)),
                Err(e) => errors.push(e),
            }
        }
        last_checks(&mut self.time_zone, &mut self.tags, errors)?;
        Ok(self)
    }
}

/// The last checks of a create and of a patch, alike: a time zone and tags (each normalised
/// when valid), their failures added after the others' `errors`; then the verdict, every
/// failure at once.
fn last_checks(
    time_zone: &mut Option<String>,
    tags: &mut Option<Vec<String>>,
    mut errors: Vec<FieldError>,
) -> AppResult<()> {
    if let Some(name) = time_zone {
        match validate_time_zone(name) {
            Ok(name) => *time_zone = Some(name),
            Err(e) => errors.push(e),
        }
    }
    if let Some(given) = tags {
        match validate_tags(given) {
            Ok(given) => *tags = Some(given),
            Err(e) => errors.extend(e),
        }
    }
    if errors.is_empty() {
        Ok(())
    } else {
        Err(AppError::Validation(errors))
    }
}
