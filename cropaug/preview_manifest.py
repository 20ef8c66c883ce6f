"""Render the boxes a manifest records: one source with its crops, or a sheet."""

from pathlib import Path

from PIL import Image

from cropaug.boxes import apply_box
from cropaug.drawing import (
    PANEL_MAX,
    TILE,
    Picture,
    Tile,
    draw_preview,
    draw_sheet,
    fit_scale,
)
from cropaug.errors import CropaugError
from cropaug.inspection import find_image
from cropaug.preview_data import (
    PLACEHOLDER,
    caption_notes,
    crop_count,
    failed_tile,
    load_crop_files,
    load_recorded_source_rgb,
    reconstruct,
    recorded_boxes,
    rectangles,
    sheet_caption,
)
from cropaug.validate import load_checked_manifest


def preview_recorded(manifest_path: Path, source: str, src: Path | None) -> Picture:
    """Draw the boxes a manifest records for one source, and the crops.

    The crops come from the files beside the manifest. With SRC the source is
    drawn under the boxes. Without it, the crops are pasted at their boxes on
    a grey canvas.

    Raises:
        ManifestError: when the manifest is invalid or unsafe.
        CropaugError: when the source is not in the manifest or no longer
            has the recorded size.
    """
    manifest, settings = load_checked_manifest(manifest_path)
    assert settings is not None
    image = find_image(manifest, source)
    size = (image["width"], image["height"])
    crop_size = (settings.crop_width, settings.crop_height)
    boxes = recorded_boxes(image)
    crops = load_crop_files(manifest_path.parent, image, settings)

    scale = fit_scale(size, PANEL_MAX)
    if src is not None:
        display = load_recorded_source_rgb(src, image, settings)
        crops = [
            crop or apply_box(display, box, crop_size, settings.resample)
            for crop, box in zip(crops, boxes, strict=True)
        ]
        origin_note = f"source read from {src}"
    else:
        display = reconstruct(size, boxes, crops, scale)
        origin_note = "without --source, the crops are pasted at their boxes"
    strip = [crop or Image.new("RGB", crop_size, PLACEHOLDER) for crop in crops]

    params = manifest["params"]
    caption = (
        f"{size[0]}x{size[1]} {image.get('format')}; {len(boxes)} crops of "
        f"{params['width']}x{params['height']} (mode {settings.mode}) recorded in "
        f"{manifest_path} (seed {params['seed']}); {origin_note}. "
        f"{caption_notes(boxes)}"
    )
    return draw_preview(
        display,
        size,
        rectangles(boxes),
        strip,
        source,
        caption,
        [box.flipped for box in boxes],
    )


def preview_recorded_sheet(
    manifest_path: Path, src: Path | None, max_images: int
) -> Image.Image:
    """Draw a contact sheet of the boxes a manifest records, one cell per source."""
    manifest, settings = load_checked_manifest(manifest_path)
    assert settings is not None
    images = manifest["images"][:max_images]
    if not images:
        raise CropaugError(f"{manifest_path} records no cropped images")
    tiles = []
    for image in images:
        size = (image["width"], image["height"])
        boxes = recorded_boxes(image)
        caption = f"{image['source']}: {crop_count(boxes)}"
        if src is not None:
            try:
                display = load_recorded_source_rgb(src, image, settings)
            except CropaugError as error:
                tiles.append(failed_tile(image["source"], str(error)))
                continue
        else:
            crops = load_crop_files(manifest_path.parent, image, settings)
            display = reconstruct(size, boxes, crops, fit_scale(size, (TILE, TILE)))
        tiles.append(Tile(display, size, rectangles(boxes), caption))

    params = manifest["params"]
    title = (
        f"{manifest_path}: {params['width']}x{params['height']} crops, "
        f"mode {settings.mode}, seed {params['seed']}"
    )
    return draw_sheet(tiles, title, sheet_caption(len(tiles), len(manifest["images"])))
