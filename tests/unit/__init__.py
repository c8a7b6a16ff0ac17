"""Unit tests: the typesetting, the credentials library and the domain rules; no database."""
