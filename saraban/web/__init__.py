"""The web front door: the app factory, its request dependencies, the API and pages."""
