"""Interfaces: the FastAPI app (the JSON API under api.http), the `evault` CLI (api.cli), the
doctor's checks and the Prometheus metrics. Each calls the services of the packages below it;
nothing imports api."""
