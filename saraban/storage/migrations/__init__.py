"""Alembic migration environment for saraban (run via ``saraban.storage.engine.upgrade_schema``)."""
