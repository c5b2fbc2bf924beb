"""The core: database, evidence items, write-once stores, media probing."""
