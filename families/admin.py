"""Staff admin for families and their case files."""
