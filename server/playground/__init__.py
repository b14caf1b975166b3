"""The web playground: a single static page at ``/`` that drives the public API from a browser.

Off unless ``playground: true``. The page and its assets are plain files (HTML, CSS, JavaScript
modules) served from ``static/``: no build step and nothing fetched from elsewhere.
"""

from server.playground.router import install_playground, open_paths

__all__ = ["install_playground", "open_paths"]
