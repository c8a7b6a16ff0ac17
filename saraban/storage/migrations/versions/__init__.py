"""Alembic revision scripts.  Alembic itself ignores this file; it only makes the
directory a package so that setuptools ships the migrations with saraban."""
