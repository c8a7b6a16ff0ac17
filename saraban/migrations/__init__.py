"""Alembic migration environment for saraban (run via ``saraban.db.upgrade_schema``)."""
