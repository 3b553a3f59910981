"""Jupyter server for the browser tests: Galata's test set-up, on 127.0.0.1 and the port
the Playwright config chose, as root in CI. Never use this configuration elsewhere: it turns
off authentication."""

import os

from jupyterlab.galata import configure_jupyter_server

c = get_config()  # noqa: F821 (injected by the config loader)
configure_jupyter_server(c)

c.ServerApp.ip = "127.0.0.1"
c.ServerApp.port = int(os.environ["SPEC3NB_UI_PORT"])
c.ServerApp.allow_root = True
c.ServerApp.open_browser = False
# No network: no news, no update checks, no extension manager listing.
c.LabApp.news_url = None
c.LabApp.check_for_updates_class = "jupyterlab.NeverCheckForUpdate"
c.LabApp.extension_manager = "readonly"
