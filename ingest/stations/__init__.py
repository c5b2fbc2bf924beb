"""Station adapters: where recordings come from."""

from ingest.stations.base import Listing, StationAdapter, StationUnavailable

__all__ = ["Listing", "StationAdapter", "StationUnavailable"]
