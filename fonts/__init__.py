"""The bundled fonts and their licences, shipped as the package letters.fontfiles
(pyproject.toml maps this folder there; letters.fonts finds it with importlib.resources)."""
