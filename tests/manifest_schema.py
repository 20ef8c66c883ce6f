"""Validate manifests that tests write against the published JSON Schema."""

import json
from pathlib import Path

import jsonschema

from cropaug.schema import load_schema

_VALIDATOR = jsonschema.Draft202012Validator(load_schema())


def assert_manifest_valid(manifest: Path | dict) -> None:
    """Fail with every schema violation when a manifest breaks the schema."""
    if isinstance(manifest, Path):
        manifest = json.loads(manifest.read_text(encoding="utf-8"))
    errors = sorted(_VALIDATOR.iter_errors(manifest), key=lambda e: list(e.path))
    messages = [
        f"{'/'.join(map(str, e.path)) or '(root)'}: {e.message}" for e in errors
    ]
    assert not messages, "manifest breaks the schema:\n" + "\n".join(messages)
