"""The server's routes, one module per kind of document; each has `routes() -> list[Route]`
and app.py mounts them in the order of `crawler.server.app.ROUTE_MODULES`."""
