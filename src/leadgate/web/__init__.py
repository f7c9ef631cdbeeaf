"""The web app for sales and marketing: server-rendered pages under ``/app`` of ``leadgate serve``.

Pages call the same service functions as the REST API (:mod:`leadgate.service`), with the
signed-in user's reach (:class:`~leadgate.service.users.Viewer`). Templates are Jinja2, with no
build step and no JavaScript framework: every page works with the keyboard and without scripts,
except the funnel's charts (plotly, shipped inside the package).
"""
