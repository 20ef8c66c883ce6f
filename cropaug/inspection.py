"""Summarise what a run did, from its manifest alone."""

import unicodedata
from collections import Counter

from cropaug.errors import CropaugError

# Plain-words meaning of each recorded option, for readers new to cropaug.
PARAM_DESCRIPTIONS = {
    "width": "crop width, pixels",
    "height": "crop height, pixels",
    "n": "crops requested per image",
    "seed": "run seed; with the same sources it gives the same crops",
    "format": "output format; same = keep JPEG, PNG and BMP, PNG for the rest",
    "quality": "JPEG and lossy WebP quality",
    "subsampling": "JPEG chroma subsampling; null = the source's own",
    "lossless": "lossless WebP",
    "background": "colour under transparent pixels when the output has no alpha",
    "max_pixels": "images with more pixels fail before decoding",
}

# Row label for skipped and failed files that lie outside every class folder.
# In the summary, that row's class_name is None.
NO_CLASS = "(outside classes)"


def summarize_manifest(manifest: dict) -> dict:
    """Return a run's summary: settings, versions, counts per class and problems."""
    classes = list(manifest["classes"])
    rows = {name: _class_row(name) for name in classes}
    formats: dict[str, dict] = {}
    conversions: Counter = Counter()
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
        "clamped": clamped,
        "skipped": manifest["skipped"],
        "failed": manifest["failed"],
    }


def format_summary(summary: dict, manifest_label: str) -> str:
    """Render a summary from `summarize_manifest` as aligned plain text."""
    versions = ", ".join(
        f"{name} {version}" for name, version in summary["library_versions"].items()
    )
    lines = [
        f"Manifest  {manifest_label}",
        f"Written by cropaug {summary['cropaug_version']} "
        f"(manifest format {summary['format_version']}) with {versions}",
        "",
        "Parameters",
    ]
    param_rows = [
        [key, _value_text(value), PARAM_DESCRIPTIONS.get(key, "")]
        for key, value in summary["params"].items()
    ]
    lines += _table(param_rows, indent=2)

    totals = summary["totals"]
    lines += [
        "",
        f"Classes {totals['classes']}, images {totals['images']}, "
        f"crops {totals['crops']}, clamped {totals['clamped']}, "
        f"skipped {totals['skipped']}, failed {totals['failed']}",
    ]
    columns = ["images", "crops", "clamped", "skipped", "failed"]
    class_rows = [["class", *columns]]
    class_rows += [
        [row["class_name"] or NO_CLASS, *(row[c] for c in columns)]
        for row in summary["classes"]
    ]
    class_rows.append(["total", *(totals[c] for c in columns)])
    lines += _table(class_rows, indent=2, numeric_from=1)

    lines += ["", "Outputs"]
    lines += _table(
        [
            [
                f["output_format"],
                _plural(f["images"], "image"),
                _plural(f["crops"], "crop"),
            ]
            for f in summary["output_formats"]
        ],
        indent=2,
        numeric_from=1,
    ) or ["  none"]

    if summary["conversions"]:
        lines += ["", "Conversions applied before cropping"]
        lines += [
            f"  {_plural(c['images'], 'image')}: {c['conversion']}"
            for c in summary["conversions"]
        ]
    if summary["first_frame_only"]:
        lines += ["", "Animated or multi-page sources (first frame cropped)"]
        lines += [
            f"  {item['source']}: {item['frames']} frames"
            for item in summary["first_frame_only"]
        ]

    lines += ["", f"Clamped: {totals['clamped']} (fewer crop positions than n)"]
    if summary["clamped"]:
        rows = [["source", "positions", "crops", "requested"]]
        rows += [
            [c["source"], c["positions"], c["crops"], c["requested"]]
            for c in summary["clamped"]
        ]
        lines += _table(rows, indent=2, numeric_from=1)
    lines += ["", f"Skipped: {totals['skipped']}"]
    lines += [f"  {s.get('source')}: {s.get('reason')}" for s in summary["skipped"]]
    lines += ["", f"Failed: {totals['failed']}"]
    lines += [f"  {f.get('source')}: {f.get('error')}" for f in summary["failed"]]
    return printable("\n".join(lines))


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


def format_image(image: dict) -> str:
    """Render one source's record and its boxes as aligned plain text."""
    lines = [
        f"Source     {image['source']} (class {image['class_name']})",
        f"Decoded    {image['width']}x{image['height']} {image.get('format')} "
        f"{image.get('mode')}, SHA-256 {image['sha256']}",
        f"Crops      {image['output_format']} {image['output_mode']}",
    ]
    if image.get("conversion"):
        lines.append(f"Converted  {image['conversion']}")
    if image.get("frames", 1) > 1:
        lines.append(f"Frames     {image['frames']}, the first cropped")
    positions = image.get("positions")
    count = len(image["crops"])
    requested = f" of {image['requested']} requested" if "requested" in image else ""
    lines += [f"Boxes      {count}{requested}, out of {positions} positions", ""]

    rows = [["#", "path", "x", "y", "width", "height"]]
    rows += [
        [index, c["path"], c["x"], c["y"], c["width"], c["height"]]
        for index, c in enumerate(image["crops"])
    ]
    lines += _table(rows, indent=0, numeric_from=2)
    return printable("\n".join(lines))


def printable(text: str) -> str:
    """Escape control characters and unpaired surrogates, keeping newlines.

    Manifests come from other people, and a name holding terminal escape
    sequences must not drive the terminal that prints it.
    """
    characters = []
    for character in text:
        category = unicodedata.category(character)
        if character == "\n" or category not in ("Cc", "Cs"):
            characters.append(character)
        else:
            characters.append(character.encode("unicode_escape").decode("ascii"))
    return "".join(characters)


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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _value_text(value) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    return str(value)


def _table(rows: list[list], indent: int, numeric_from: int | None = None) -> list[str]:
    """Align rows into columns; columns from `numeric_from` on align right."""
    if not rows:
        return []
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for row in cells:
        padded = []
        for i, cell in enumerate(row):
            right = numeric_from is not None and i >= numeric_from
            padded.append(cell.rjust(widths[i]) if right else cell.ljust(widths[i]))
        lines.append((" " * indent + "  ".join(padded)).rstrip())
    return lines
