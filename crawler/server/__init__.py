"""`stnews serve`: the feeds, an HTML front page and a health check over HTTP.

Built on Starlette, run by uvicorn. The application:

    from crawler.server import create_app
    app = create_app("sqlite:///var/stnews.db", base_url="https://news.example/",
                     default_limit=50, max_limit=500, cache_ttl=30.0)   # any ASGI server

Routes: `/` (HTML), `/feeds/{name}.{rss|atom|json}` with optional filters
`?partner=FR&source=nstc&topic=ai&type=agreement&language=en&limit=20`, `/feeds.opml`
(also at `/feeds/feeds.opml`, where `stnews feed` writes it) and `/healthz`. Feed names are the
writer's: cooperation, all, monitor, page-changes (once a page is monitored), partner-fr,
source-nstc, topic-ai, type-agreement, lang-en, ...; with the same base URL and limit, a named
feed is byte for byte the file `stnews feed` writes. `base_url` is the public address of the
site root (feeds are under `feeds/`); None takes it from each request (Host header).

Running it:

    run_server(database_url, host="127.0.0.1", port=8080, *, base_url=None,
               install_signal_handlers=True, handle=None, cache_ttl=30.0) -> None

blocks until SIGINT/SIGTERM (main thread, `install_signal_handlers=True`) or until
`handle.stop()` is called from another thread. With `install_signal_handlers=False` it runs
in any thread and leaves the process's signal handlers alone. To run it beside other work:

    handle = start_server(database_url, "127.0.0.1", 8080)   # daemon thread; returns once
    print(handle.url)                                         # listening (port 0: any free)
    ...
    handle.stop()                                             # finish requests, join thread

or, owning the thread yourself:

    handle = ServerHandle(on_started=print)
    thread = threading.Thread(target=run_server, args=(url,),
                              kwargs={"install_signal_handlers": False, "handle": handle})
    thread.start(); handle.wait_started(10); ...; handle.stop(); thread.join()
"""

from crawler.server.app import create_app
from crawler.server.run import ServerHandle, run_server, start_server

__all__ = ["ServerHandle", "create_app", "run_server", "start_server"]
