"""Summarise what a run did, from its manifest alone."""

from collections import Counter

from cropaug.errors import CropaugError


def summarize_manifest(manifest: dict) -> dict:
    """Return a run's summary: settings, versions, counts per class and problems."""
    classes = list(manifest["classes"])
    rows = {name: _class_row(name) for name in classes}
    formats: dict[str, dict] = {}
    conversions: Counter = Counter()
    crop_flags: Counter = Counter({"flipped": 0, "center_fallback": 0})
    first_frame_only, clamped = [], []

    for image in manifest["images"]:
        row = rows.setdefault(image["class_name"], _class_row(image["class_name"]))
        crops = len(image["crops"])
        row["images"] += 1
        row["crops"] += crops
        output = formats.setdefault(
            image["output_format"],
            {"output_format": image["output_format"], "images": 0, "crops": 0},
        )
        output["images"] += 1
        output["crops"] += crops
        for crop in image["crops"]:
            for flag in ("flipped", "center_fallback"):
                crop_flags[flag] += crop.get(flag) is True
        if image.get("conversion"):
            conversions[image["conversion"]] += 1
        if image.get("frames", 1) > 1:
            first_frame_only.append(
                {"source": image["source"], "frames": image["frames"]}
            )
        if "requested" in image:
            row["clamped"] += 1
            clamped.append(
                {
                    "source": image["source"],
                    "positions": image.get("positions"),
                    "crops": crops,
                    "requested": image["requested"],
                }
            )

    for key in ("skipped", "failed"):
        for item in manifest[key]:
            row = rows.setdefault(_class_of(item, classes), _class_row(None))
            row[key] += 1

    totals = {
        "classes": len(classes),
        "images": len(manifest["images"]),
        "crops": sum(row["crops"] for row in rows.values()),
        "clamped": len(clamped),
        "skipped": len(manifest["skipped"]),
        "failed": len(manifest["failed"]),
    }
    return {
        "format_version": manifest["format_version"],
        "cropaug_version": manifest.get("cropaug_version"),
        "library_versions": manifest.get("library_versions", {}),
        "params": manifest.get("params", {}),
        "totals": totals,
        "classes": list(rows.values()),
        "output_formats": sorted(formats.values(), key=lambda f: -f["images"]),
        "conversions": [
            {"conversion": text, "images": count}
            for text, count in sorted(conversions.items())
        ],
        "first_frame_only": first_frame_only,
        "crop_flags": dict(crop_flags),
        "clamped": clamped,
        "skipped": manifest["skipped"],
        "failed": manifest["failed"],
    }


def find_image(manifest: dict, source: str) -> dict:
    """Return the manifest's record of one source.

    Raises:
        CropaugError: saying whether the source was skipped, failed, or is
            not in the manifest at all.
    """
    for image in manifest["images"]:
        if image["source"] == source:
            return image
    for item in manifest["skipped"]:
        if item.get("source") == source:
            raise CropaugError(
                f"{source} has no crops: it was skipped: {item['reason']}"
            )
    for item in manifest["failed"]:
        if item.get("source") == source:
            raise CropaugError(f"{source} has no crops: it failed: {item['error']}")
    raise CropaugError(
        f"{source} is not in the manifest; pass a source path relative to SRC "
        "as the manifest lists it, such as "
        f"{manifest['images'][0]['source'] if manifest['images'] else 'cats/a.jpg'}"
    )


def _class_row(name: str | None) -> dict:
    return {
        "class_name": name,
        "images": 0,
        "crops": 0,
        "clamped": 0,
        "skipped": 0,
        "failed": 0,
    }


def _class_of(item: dict, classes: list[str]) -> str | None:
    source = item.get("source")
    if isinstance(source, str) and "/" in source:
        first = source.split("/", 1)[0]
        if first in classes:
            return first
    return None
