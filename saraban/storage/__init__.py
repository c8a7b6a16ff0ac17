"""Every table, the engine and sessions, the migrations and the queries."""
