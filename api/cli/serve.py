"""`evault serve` (the HTTP API) and `evault run` (API and ingest daemon in one process)."""

from __future__ import annotations

import logging
import signal
import threading
from types import FrameType
from typing import TYPE_CHECKING, Annotated

import typer

from api.cli.shared import console, context, err
from api.error_table import ExitCode

if TYPE_CHECKING:
    from api.context import AppContext
    from ingest.daemon import Daemon

log = logging.getLogger(__name__)

HostOption = Annotated[str | None, typer.Option(help="Address to listen on (api_host).")]
PortOption = Annotated[int | None, typer.Option(help="Port to listen on (api_port).")]
WorkersOption = Annotated[
    int | None,
    typer.Option(min=1, max=64, help="API worker processes (api_workers); one per core is usual."),
]


def _serve_api(
    host: str | None, port: int | None, workers: int | None, *, with_daemon: bool
) -> None:
    from ingest.daemon import Daemon
    from ingest.runner import build_context

    app_context = context(serving=True)
    settings = app_context.settings
    host, port = host or settings.api_host, port or settings.api_port
    workers = workers or settings.api_workers
    daemon = None
    if with_daemon and settings.stations:
        daemon = Daemon(build_context(settings, app_context.factory, app_context.stores))
    elif with_daemon:
        err.print(
            "[yellow]no stations configured[/yellow]: serving the API only; add [[stations]]"
            " to evault.toml, or run `evault demo` for a demo station"
        )
    watching = ", ".join(s.name for s in settings.stations) if daemon else "no stations"
    banner = (
        f"[green]evidence-vault running[/green]: API on http://{host}:{port} (token required,"
        f" {workers} worker process{'es' if workers > 1 else ''}), ingest: {watching}. Ctrl-C"
        " stops. In another terminal: `evault list`, `evault sla`, `evault verify`,"
        " `evault token issue USER`."
    )
    if workers == 1:
        started = _run_in_threads(app_context, host, port, daemon, banner)
    else:
        started = _run_worker_processes(host, port, workers, daemon, banner)
    if not started:
        raise typer.Exit(ExitCode.UNAVAILABLE)  # the port is taken, or the API did not start


def _run_in_threads(
    app_context: AppContext, host: str, port: int, daemon: Daemon | None, banner: str
) -> bool:
    # Imported here: the web stack costs memory that `ingest` and the other commands skip.
    import uvicorn

    from api.http.app import create_app

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
    api = threading.Thread(target=server.run, name="api")
    api.start()
    daemon_thread = _start_daemon(daemon)
    console.print(banner)
    while not stopped.wait(0.5):
        if not api.is_alive():  # the API could not start (port taken): stop all
            if daemon is not None:
                daemon.request_stop()
            break
    api.join()
    if daemon_thread is not None:
        daemon_thread.join()
    return bool(server.started)


def _run_worker_processes(
    host: str, port: int, workers: int, daemon: Daemon | None, banner: str
) -> bool:
    """uvicorn's supervisor in this (main) thread, the daemon beside it in a thread.

    Each worker process builds its own app from the same settings (the environment, with
    EVAULT_CONFIG, is inherited); the database was migrated above, before any worker starts.
    The supervisor handles SIGINT/SIGTERM: it stops the workers and returns, then the daemon
    is stopped and joined.
    """
    import uvicorn

    daemon_thread = _start_daemon(daemon)
    console.print(banner)
    try:
        uvicorn.run(
            "api.http.app:app_from_settings",
            factory=True,
            host=host,
            port=port,
            workers=workers,
            log_config=None,
        )
    except SystemExit as exc:  # the supervisor exits when it cannot bind
        log.error("the API could not start", extra={"code": exc.code})
        return False
    finally:
        if daemon is not None and daemon_thread is not None:
            daemon.request_stop()
            daemon_thread.join()
    return True


def _start_daemon(daemon: Daemon | None) -> threading.Thread | None:
    if daemon is None:
        return None
    thread = threading.Thread(
        target=daemon.run, kwargs={"install_signal_handlers": False}, name="daemon"
    )
    thread.start()
    return thread


def serve(host: HostOption = None, port: PortOption = None, workers: WorkersOption = None) -> None:
    """Run the HTTP API (see /openapi.json with a token). Stops cleanly on SIGTERM."""
    _serve_api(host, port, workers, with_daemon=False)


def run(host: HostOption = None, port: PortOption = None, workers: WorkersOption = None) -> None:
    """Run the vault: the HTTP API and the ingest daemon together (also what bare `evault`
    does)."""
    _serve_api(host, port, workers, with_daemon=True)
