"""`evault serve` (the HTTP API) and `evault run` (API and ingest daemon in one process)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import Annotated

import typer

from api.cli.shared import console, context, err
from ingest.daemon import Daemon
from ingest.runner import build_context

log = logging.getLogger(__name__)

HostOption = Annotated[str | None, typer.Option(help="Address to listen on (api_host).")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on (api_port).")]


def _serve_api(host: str | None, port: int | None, *, with_daemon: bool) -> None:
    # Imported here: the web stack costs memory that `ingest` and the other commands skip.
    import uvicorn  # noqa: PLC0415

    from api.http.app import create_app  # noqa: PLC0415

    app_context = context()
    settings = app_context.settings
    host, port = host or settings.api_host, port or settings.api_port
    daemon = None
    if with_daemon and settings.stations:
        daemon = Daemon(build_context(settings, app_context.factory, app_context.stores))
    elif with_daemon:
        err.print(
            "[yellow]no stations configured[/yellow]: serving the API only; add [[stations]]"
            " to evault.toml, or run `evault demo` for a demo station"
        )
    server = uvicorn.Server(
        uvicorn.Config(create_app(app_context), host=host, port=port, log_config=None)
    )
    stopped = threading.Event()

    def stop(signum: int, _frame: FrameType | None) -> None:
        log.info("stop requested", extra={"signal": signal.Signals(signum).name})
        server.should_exit = True
        if daemon is not None:
            daemon.request_stop()
        stopped.set()

    # This thread owns SIGINT/SIGTERM and stops both parts; uvicorn, run in a thread of its
    # own, then neither installs its handlers nor re-raises the signal after shutting down.
    signal.signal(signal.SIGTERM, stop)
    signal.signal(signal.SIGINT, stop)
    threads = [threading.Thread(target=server.run, name="api")]
    if daemon is not None:
        threads.append(
            threading.Thread(
                target=daemon.run, kwargs={"install_signal_handlers": False}, name="daemon"
            )
        )
    for thread in threads:
        thread.start()
    watching = ", ".join(s.name for s in settings.stations) if daemon else "no stations"
    console.print(
        f"[green]evidence-vault running[/green]: API on http://{host}:{port} (token required),"
        f" ingest: {watching}. Ctrl-C stops. In another terminal: `evault list`, `evault sla`,"
        " `evault verify`, `evault token issue USER`."
    )
    while not stopped.wait(0.5):
        if not threads[0].is_alive():  # the API could not start (port taken): stop all
            if daemon is not None:
                daemon.request_stop()
            break
    for thread in threads:
        thread.join()
    if not server.started:
        raise typer.Exit(1)


def serve(host: HostOption = None, port: PortOption = None) -> None:
    """Run the HTTP API (see /openapi.json with a token). Stops cleanly on SIGTERM."""
    _serve_api(host, port, with_daemon=False)


def run(host: HostOption = None, port: PortOption = None) -> None:
    """Run the vault: the HTTP API and the ingest daemon together (also what bare `evault`
    does)."""
    _serve_api(host, port, with_daemon=True)
