"""The web service: the JSON API and the pages, over both databases."""
