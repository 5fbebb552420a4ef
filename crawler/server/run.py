"""Running the application under uvicorn: blocking in the caller's thread, or in a thread of
its own with a handle to stop it."""

from __future__ import annotations

import contextlib
import logging
import socket
import threading
from collections.abc import Callable, Iterator

import uvicorn

from crawler.server.app import create_app

log = logging.getLogger(__name__)


class ServerHandle:
    """Controls one server run: learn its address once it listens, and stop it.

    Pass it to `run_server(..., handle=h)` and call `h.stop()` from another thread, or get one
    from `start_server`, which runs the server in a daemon thread. `on_started` is called
    with the URL (e.g. "http://127.0.0.1:8080/") once the socket listens.
    """

    def __init__(self, on_started: Callable[[str], None] | None = None) -> None:
        self.on_started = on_started
        self.error: BaseException | None = None  # why a start_server thread ended, if it did
        self._server: _Server | None = None
        self._thread: threading.Thread | None = None
        self._lock = threading.Lock()
        self._stop_requested = False
        self._started = threading.Event()
        self._finished = threading.Event()
        self._settled = threading.Event()  # started or finished, whichever came first
        self._address: tuple[str, int] | None = None

    @property
    def url(self) -> str:
        if self._address is None:
            raise RuntimeError("the server has not started")
        host, port = self._address
        return f"http://{f'[{host}]' if ':' in host else host}:{port}/"

    @property
    def port(self) -> int:
        if self._address is None:
            raise RuntimeError("the server has not started")
        return self._address[1]

    @property
    def running(self) -> bool:
        return self._started.is_set() and not self._finished.is_set()

    def wait_started(self, timeout: float | None = None) -> bool:
        """True once the server listens; False when it ended first or the timeout passed."""
        self._settled.wait(timeout)
        return self.running

    def stop(self, timeout: float | None = 10.0) -> None:
        """Make the server finish its open requests and exit (within about 0.1 s plus their
        time); waits for its thread when it has one. Safe to call more than once, and before
        the server has started."""
        with self._lock:
            self._stop_requested = True
            if self._server is not None:
                self._server.should_exit = True
        if self._thread is not None and self._thread is not threading.current_thread():
            self._thread.join(timeout)

    # --- called by the server ---

    def _attach(self, server: _Server) -> None:
        with self._lock:
            self._server = server
            server.should_exit = self._stop_requested

    def _mark_started(self, address: tuple[str, int]) -> None:
        self._address = address
        self._started.set()
        self._settled.set()
        if self.on_started is not None:
            self.on_started(self.url)

    def _mark_finished(self) -> None:
        self._finished.set()
        self._settled.set()


class _Server(uvicorn.Server):
    """uvicorn's server, reporting to a handle, and leaving SIGINT/SIGTERM alone unless asked:
    in a scheduler's thread the host process owns its signals."""

    def __init__(
        self, config: uvicorn.Config, handle: ServerHandle, install_signal_handlers: bool
    ) -> None:
        super().__init__(config)
        self.handle = handle
        self.install_signal_handlers = install_signal_handlers

    @contextlib.contextmanager
    def capture_signals(self) -> Iterator[None]:
        if self.install_signal_handlers:
            with super().capture_signals():
                yield
        else:
            yield

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets)
        if self.started:
            listening = [sock for server in self.servers for sock in server.sockets]
            host, port = listening[0].getsockname()[:2]
            # Without --base-url, the site's address is the bound one (never a Host header).
            service = self.config.app.state.service
            if not service.base_configured:
                service.bound_to(site_url(host, port))
            self.handle._mark_started((host, port))


def site_url(host: str, port: int) -> str:
    """The address links point to when no base URL is configured: the bound one; for a
    wildcard bind (0.0.0.0, ::) the machine's name, as no client can reach "0.0.0.0"."""
    if host in ("0.0.0.0", "::", ""):
        name = socket.getfqdn()
        log.warning(
            "bound to all interfaces: links will use http://%s:%d/; pass --base-url to choose",
            name,
            port,
        )
        host = name
    return f"http://{f'[{host}]' if ':' in host else host}:{port}/"


def run_server(
    database_url: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    base_url: str | None = None,
    install_signal_handlers: bool = True,
    handle: ServerHandle | None = None,
    cache_ttl: float = 30.0,
    access_log: bool = False,
    hub_url: str | None = None,
) -> None:
    """Serve until stopped: by SIGINT/SIGTERM when `install_signal_handlers` (main thread
    only), or by `handle.stop()` from any thread. Port 0 picks a free port; see `handle.url`.
    Raises SystemExit when the address cannot be bound (uvicorn's behaviour)."""
    handle = handle or ServerHandle()
    try:
        app = create_app(database_url, base_url=base_url, cache_ttl=cache_ttl, hub_url=hub_url)
        config = uvicorn.Config(
            app,
            host=host,
            port=port,
            log_config=None,  # keep the host process's logging setup
            access_log=access_log,
            lifespan="on",  # disposes the database engine on the way out
            server_header=False,
        )
        server = _Server(config, handle, install_signal_handlers)
        handle._attach(server)
        server.run()
    finally:
        handle._mark_finished()


def start_server(
    database_url: str,
    host: str = "127.0.0.1",
    port: int = 8080,
    *,
    base_url: str | None = None,
    cache_ttl: float = 30.0,
    timeout: float = 10.0,
) -> ServerHandle:
    """Run the server in a daemon thread and return once it listens.

    Raises RuntimeError when it could not start within `timeout` (e.g. the port is taken).
    """
    handle = ServerHandle()

    def target() -> None:
        try:
            run_server(
                database_url,
                host,
                port,
                base_url=base_url,
                install_signal_handlers=False,
                handle=handle,
                cache_ttl=cache_ttl,
            )
        except BaseException as exc:  # SystemExit too: uvicorn exits on a bind failure
            handle.error = exc
            log.error("stnews server on %s:%s ended: %r", host, port, exc)

    handle._thread = threading.Thread(target=target, name="stnews-server", daemon=True)
    handle._thread.start()
    if not handle.wait_started(timeout):
        handle.stop(timeout)
        raise RuntimeError(f"the server did not start on {host}:{port} ({handle.error!r})")
    return handle
