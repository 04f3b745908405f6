//! The reminder setting: how often each instance fires the reminders that came due. Declared
//! here, in the feature's folder; `config::Settings` flattens it in with one line.

use std::time::Duration;

use clap::Args;

use crate::config::value::{ConfigError, Parsed, check};

/// The reminder setting as given.
#[derive(Debug, Clone, Args)]
pub struct RemindersArgs {
    /// How often each instance looks for due reminders (e.g. 500ms): a reminder fires within
    /// about this much of its time.
    #[arg(
        long,
        env = "REMINDER_INTERVAL",
        default_value = "500ms",
        value_parser = check::nonzero_duration(),
        global = true
    )]
    pub reminder_interval: Parsed<Duration>,
}

/// Reminders.
#[derive(Debug, Clone)]
pub struct Reminders {
    /// How often due reminders are fired.
    pub interval: Duration,
}

impl RemindersArgs {
    /// The reminder settings.
    pub fn reminders(&self) -> Result<Reminders, ConfigError> {
        Ok(Reminders {
            interval: self.reminder_interval.get()?,
        })
    }
}
