"""Admin for reminders, reminder rules and notification preferences."""
