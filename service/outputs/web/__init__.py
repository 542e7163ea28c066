"""The reading page: a small server-rendered site (Jinja2, our own CSS and a few lines of our own
JavaScript) mounted under ``/app`` of the API. See ``service.outputs.web.app``."""
