"""The manifest's JSON Schema, shipped inside the package."""

import json
from importlib import resources

SCHEMA_NAME = "manifest.schema.json"


def schema_text() -> str:
    """Return the manifest's JSON Schema (draft 2020-12) as the packaged text."""
    return resources.files("cropaug").joinpath(SCHEMA_NAME).read_text(encoding="utf-8")


def load_schema() -> dict:
    """Return the manifest's JSON Schema as a dict."""
    return json.loads(schema_text())
