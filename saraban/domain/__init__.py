"""The rules of saraban, pure: no database, web or command line."""
