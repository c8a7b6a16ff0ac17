"""The Jinja2 templates of the web pages, shipped as the package saraban.web.templates
(pyproject.toml maps this folder there)."""
