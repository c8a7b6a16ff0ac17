"""Storage and the services below the web, on SQLite and PostgreSQL (and the command line)."""
