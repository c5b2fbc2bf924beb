"""The web console: server-rendered pages for the people who use the vault, on the same
services and rules as the JSON API (never a second path to the bytes)."""
