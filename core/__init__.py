"""The ground floor: helpers every app may use, importing no app (docs/architecture.md)."""
