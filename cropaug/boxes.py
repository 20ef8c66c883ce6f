"""Crop boxes and the deterministic kernel that turns a box into an output crop.

A box is a region of the upright image (after any whole-image resize), in
pixels: `x` and `y` are its left column and top row. Applying a box cuts the
region, resizes it to the output size when the sizes differ, then mirrors
it left to right when `flipped` is set, always in that order. The kernel
draws no random numbers, so the boxes in a manifest are enough to render
its crops again.
"""

import warnings
from dataclasses import dataclass, replace

from PIL import Image

from cropaug.conversion import PreparedImage

# Resampling filters by the names the CLI and the manifest use. Since Pillow
# 2.7, resize() computes each output pixel from every input pixel under the
# filter, whose support widens with the downscale factor, so every filter
# but "nearest" antialiases when shrinking.
RESAMPLING = {
    "nearest": Image.Resampling.NEAREST,
    "box": Image.Resampling.BOX,
    "bilinear": Image.Resampling.BILINEAR,
    "hamming": Image.Resampling.HAMMING,
    "bicubic": Image.Resampling.BICUBIC,
    "lanczos": Image.Resampling.LANCZOS,
}


@dataclass(frozen=True)
class Box:
    """A region of the upright image to cut, and whether its crop is mirrored."""

    x: int
    y: int
    width: int
    height: int
    flipped: bool = False
    # Set when no drawn box fitted and the centre box was used instead.
    center_fallback: bool = False

    @property
    def bounds(self) -> tuple[int, int, int, int]:
        """The (left, top, right, bottom) tuple that Pillow's crop() takes."""
        return self.x, self.y, self.x + self.width, self.y + self.height


def apply_box(
    image: Image.Image, box: Box, size: tuple[int, int], resample: str
) -> Image.Image:
    """Cut `box` from `image`, resize it to `size` (width, height), then mirror it.

    The region is resized on its own, so pixels outside the box never bleed
    into the crop, as in torchvision's resized_crop. Pillow always resizes
    images of mode "1" and "P" with nearest neighbour, whatever the value of
    `resample`, so `prepare_for_resampling` converts them first.
    """
    return finish_box(image.crop(box.bounds), box, size, resample)


def finish_box(
    region: Image.Image, box: Box, size: tuple[int, int], resample: str
) -> Image.Image:
    """Resize the region cut at `box` to `size` when it differs, then mirror it."""
    if region.size != tuple(size):
        region = region.resize(size, RESAMPLING[resample])
    if box.flipped:
        region = region.transpose(Image.Transpose.FLIP_LEFT_RIGHT)
    return region


def needs_resampling(boxes: list[Box], size: tuple[int, int]) -> bool:
    """Return whether any box differs in size from the output, so it is resized."""
    return any((box.width, box.height) != tuple(size) for box in boxes)


def prepare_for_resampling(prepared: PreparedImage, resample: str) -> PreparedImage:
    """Convert 1-bit and palette images so that `resample` can blend their pixels.

    Pillow resizes modes "1" and "P" with nearest neighbour only, which would
    silently ignore the requested filter. 1-bit becomes L, palette images
    become RGBA when they have transparency and RGB otherwise; PNG and BMP,
    the formats such images are written in, store all three. The conversion
    is added to the recorded `conversion`.
    """
    image = prepared.image
    if resample == "nearest" or image.mode not in ("1", "P"):
        return prepared
    if image.mode == "1":
        target = "L"
    elif "transparency" in image.info:
        target = "RGBA"
    else:
        target = "RGB"
    with warnings.catch_warnings():
        # Pillow warns that palette transparency given as bytes should be
        # converted to RGBA, which is what this call does.
        warnings.simplefilter("ignore", UserWarning)
        converted = image.convert(target)
    step = f"{image.mode} converted to {target} for {resample} resampling"
    conversion = f"{prepared.conversion}; {step}" if prepared.conversion else step
    return replace(prepared, image=converted, conversion=conversion)


def crop_record(box: Box, path: str) -> dict:
    """Return a crop's manifest entry: its path, box, and flags only when set."""
    record = {
        "path": path,
        "x": box.x,
        "y": box.y,
        "width": box.width,
        "height": box.height,
    }
    if box.flipped:
        record["flipped"] = True
    if box.center_fallback:
        record["center_fallback"] = True
    return record


def box_from_record(crop: dict) -> Box:
    """Return the box of a manifest crop entry; missing flags mean False."""
    return Box(
        x=crop["x"],
        y=crop["y"],
        width=crop["width"],
        height=crop["height"],
        flipped=crop.get("flipped", False),
        center_fallback=crop.get("center_fallback", False),
    )
