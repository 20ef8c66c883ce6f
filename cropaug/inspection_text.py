"""Render inspect's summaries and manifest records as aligned plain text."""

import json
import unicodedata

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
    "mode": "box placement: random, resized, center, five, ten or grid",
    "scale": "resized mode: box area as a fraction of the image's, [min, max]",
    "ratio": "resized mode: box width / height, [min, max]",
    "resample": "filter that resizes boxes of another size to the crop size",
    "stride": "grid mode: step between corners, [x, y] pixels",
    "hflip": "probability that a crop is mirrored left to right",
    "min_shift": "smallest distance between two crops' corners, pixels",
    "masks": "label masks cropped alongside",
    "mask_out": "folder of the mask crops, relative to DST",
    "small": "images smaller than the crop: skip, pad, upscale or error",
    "resize": "shorter side every image is resized to first, pixels; null = none",
    "keep_exif": "EXIF copied into the crops, without the Orientation tag",
}

# Row label for skipped and failed files that lie outside every class folder.
# In the summary, that row's class_name is None.
NO_CLASS = "(outside classes)"


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

    flags = summary["crop_flags"]
    if flags["flipped"]:
        lines += ["", f"Mirrored crops: {flags['flipped']} of {totals['crops']}"]
    if flags["center_fallback"]:
        lines += [
            "",
            f"Centre fallbacks: {flags['center_fallback']} (resized mode: no drawn "
            "box fitted, so the centre box was cut)",
        ]

    lines += ["", f"Clamped: {totals['clamped']} (fewer crops than n fit)"]
    if summary["clamped"]:
        rows = [["source", "positions", "crops", "requested"]]
        rows += [
            [c["source"], _value_text(c["positions"], "-"), c["crops"], c["requested"]]
            for c in summary["clamped"]
        ]
        lines += _table(rows, indent=2, numeric_from=1)
    lines += ["", f"Skipped: {totals['skipped']}"]
    lines += [f"  {s.get('source')}: {s.get('reason')}" for s in summary["skipped"]]
    lines += ["", f"Failed: {totals['failed']}"]
    lines += [f"  {f.get('source')}: {f.get('error')}" for f in summary["failed"]]
    return printable("\n".join(lines))


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
    if "mask_source" in image:
        lines.append(
            f"Mask       {image['mask_source']} {image.get('mask_mode')}, "
            f"SHA-256 {image.get('mask_sha256')}"
        )
    positions = image.get("positions")
    count = len(image["crops"])
    requested = f" of {image['requested']} requested" if "requested" in image else ""
    if positions is None:
        # Resized mode records no positions, because its boxes vary in size.
        lines += [f"Boxes      {count}{requested}, of varying size", ""]
    else:
        lines += [f"Boxes      {count}{requested}, out of {positions} positions", ""]

    crops = image["crops"]
    has_flags = any(_crop_flags(crop) for crop in crops)
    has_masks = any("mask" in crop for crop in crops)
    header = ["#", "path", "x", "y", "width", "height"]
    header += ["flags"] * has_flags + ["mask"] * has_masks
    rows = [header]
    for index, crop in enumerate(crops):
        row = [index, crop["path"], crop["x"], crop["y"], crop["width"]]
        row.append(crop["height"])
        if has_flags:
            row.append(",".join(_crop_flags(crop)) or "-")
        if has_masks:
            row.append(crop.get("mask", "-"))
        rows.append(row)
    lines += _table(rows, indent=0, numeric_from=2, text_from=6)
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


def _plural(count: int, noun: str) -> str:
    return f"{count} {noun}" if count == 1 else f"{count} {noun}s"


def _crop_flags(crop: dict) -> list[str]:
    return [flag for flag in ("flipped", "center_fallback") if crop.get(flag) is True]


def _value_text(value, null: str = "null") -> str:
    if value is None:
        return null
    if isinstance(value, bool | list | dict):
        # JSON spelling, as in the manifest: true, [0.75, 1.3333333333333333].
        return json.dumps(value)
    return str(value)


def _table(
    rows: list[list],
    indent: int,
    numeric_from: int | None = None,
    text_from: int | None = None,
) -> list[str]:
    """Align rows into columns.

    Columns from `numeric_from` on align right, up to `text_from`, from
    which columns align left again.
    """
    if not rows:
        return []
    cells = [[str(cell) for cell in row] for row in rows]
    widths = [max(len(row[i]) for row in cells) for i in range(len(cells[0]))]
    lines = []
    for row in cells:
        padded = []
        for i, cell in enumerate(row):
            right = (
                numeric_from is not None
                and i >= numeric_from
                and (text_from is None or i < text_from)
            )
            padded.append(cell.rjust(widths[i]) if right else cell.ljust(widths[i]))
        lines.append((" " * indent + "  ".join(padded)).rstrip())
    return lines
