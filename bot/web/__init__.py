"""The web window: health checks, Prometheus metrics and a read-only status page, served
from inside the bot's process when `[web] listen` is set.

    metrics = Metrics()                       # an Observer: the Runtime's `observer`
    async with serving(runtime, metrics) as window:
        print(window.url)

`app` is the server and its routes, `auth` the token, `health` the readiness checks,
`metrics` the registry and what counts into it, `views` what the page shows, `embeds` Discord
payloads drawn in HTML, `states` the state of a source; the templates are in `templates/`.
Nothing below the composition root imports this package: the parts it watches report through
`bot.observe.Observer`.
"""

from __future__ import annotations

from bot.web.app import WebWindow, serving
from bot.web.metrics import Metrics

__all__ = ["Metrics", "WebWindow", "serving"]
