"""Plan and apply the size changes made before cropping: --resize and --small.

Planning works on sizes alone, from the header, so a small image can be
skipped or failed before it is decoded and a JPEG can be decoded at a reduced
scale. Applying the plan turns the image upright first, then resamples it,
then pads it. Without a plan, crops are cut from the image as stored and each
crop is turned upright, which gives the same pixels without a full-size copy.
"""

from dataclasses import dataclass, replace
from fractions import Fraction

from PIL import Image

from cropaug.conversion import PreparedImage, convert_quietly, has_transparency, luma
from cropaug.errors import ImageError

SMALL_POLICIES = ("skip", "pad", "upscale", "error")

# Lanczos (a = 3) is the filter that the comparison table in Pillow's handbook
# rates highest for both downscaling and upscaling quality (and slowest). It
# serves --resize and --small upscale alike, without reducing_gap, so every
# output pixel is the exact filter result over the decoded image.
RESAMPLING = Image.Resampling.LANCZOS

_TRANSPOSE_FOR_ORIENTATION = {
    2: Image.Transpose.FLIP_LEFT_RIGHT,
    3: Image.Transpose.ROTATE_180,
    4: Image.Transpose.FLIP_TOP_BOTTOM,
    5: Image.Transpose.TRANSPOSE,
    6: Image.Transpose.ROTATE_270,
    7: Image.Transpose.TRANSVERSE,
    8: Image.Transpose.ROTATE_90,
}

# Transpositions that swap width and height.
_QUARTER_TURNS = {
    Image.Transpose.TRANSPOSE,
    Image.Transpose.TRANSVERSE,
    Image.Transpose.ROTATE_90,
    Image.Transpose.ROTATE_270,
}

# Each transposition undoes itself, except the quarter turns.
_INVERSE = {
    **{method: method for method in Image.Transpose},
    Image.Transpose.ROTATE_90: Image.Transpose.ROTATE_270,
    Image.Transpose.ROTATE_270: Image.Transpose.ROTATE_90,
}

Box = tuple[float, float, float, float]


class SmallImageError(ImageError):
    """The image is smaller than the crop and --small is skip or error."""

    def __init__(self, message: str, policy: str):
        super().__init__(message)
        self.policy = policy


@dataclass(frozen=True)
class SizePlan:
    """The sizes one source goes through before it is cropped."""

    # Upright size of the source at full resolution.
    original: tuple[int, int]
    # Size after --resize, or None without it.
    resized: tuple[int, int] | None
    # The small-image policy that applies ("skip", "pad", "upscale",
    # "error"), or None when the crop fits in the image.
    small: str | None
    # Size of the image the crop boxes refer to.
    size: tuple[int, int]
    # Position of the image on the padded canvas (--small pad).
    pad_offset: tuple[int, int] = (0, 0)

    @property
    def scaled_size(self) -> tuple[int, int] | None:
        """The size the image is resampled to, or None when it is not resampled."""
        if self.small == "upscale":
            return self.size
        return self.resized

    @property
    def changes_image(self) -> bool:
        """Whether the image is resampled or padded before cropping."""
        return self.scaled_size is not None or self.small == "pad"


def resized_size(size: tuple[int, int], shorter_side: int) -> tuple[int, int]:
    """Return `size` scaled so its shorter side is `shorter_side`.

    The longer side is rounded half up and is at least 1.
    """
    width, height = size
    if width <= height:
        return shorter_side, max(
            1, _round_half_up(Fraction(height * shorter_side, width))
        )
    return max(1, _round_half_up(Fraction(width * shorter_side, height))), shorter_side


def plan_size(
    original: tuple[int, int],
    crop_size: tuple[int, int],
    resize: int | None,
    small: str,
) -> SizePlan:
    """Plan --resize and the small-image policy for an image of `original` size."""
    resized = resized_size(original, resize) if resize is not None else None
    width, height = resized or original
    crop_width, crop_height = crop_size
    if width >= crop_width and height >= crop_height:
        return SizePlan(original, resized, None, (width, height))

    if small == "upscale":
        # The smallest scale at which the crop fits. For a square crop, the
        # shorter side becomes the crop size.
        scale = max(Fraction(crop_width, width), Fraction(crop_height, height))
        size = (
            max(crop_width, _round_half_up(width * scale)),
            max(crop_height, _round_half_up(height * scale)),
        )
        return SizePlan(original, resized, small, size)
    if small == "pad":
        size = (max(width, crop_width), max(height, crop_height))
        offset = ((size[0] - width) // 2, (size[1] - height) // 2)
        return SizePlan(original, resized, small, size, offset)
    return SizePlan(original, resized, small, (width, height))


def describe_small(
    plan: SizePlan, crop_size: tuple[int, int], resize: int | None
) -> str:
    """Return the reason a small image is skipped or failed."""
    width, height = plan.resized or plan.original
    after = f" after --resize {resize}" if resize is not None else ""
    reason = (
        f"image is {width}x{height}{after}, smaller than the "
        f"{crop_size[0]}x{crop_size[1]} crop"
    )
    if plan.small == "error":
        reason += "; pass --small pad or --small upscale to crop it"
    return reason


def fit_image(
    prepared: PreparedImage,
    plan: SizePlan,
    draft_box: Box | None,
    background: tuple[int, int, int],
) -> PreparedImage:
    """Turn the image upright, then resample and pad it as planned.

    `draft_box` is the region of a JPEG draft decode that covers the whole
    source, in stored orientation. Palette and 1-bit images are widened to
    RGB (RGBA with transparency) or L first, because Pillow resamples them
    with the nearest neighbour only and a padded palette may lack the
    background colour. Returns `prepared` unchanged when the plan changes
    nothing.
    """
    if not plan.changes_image:
        return prepared

    steps = [prepared.conversion] if prepared.conversion else []
    image = prepared.image
    method = _TRANSPOSE_FOR_ORIENTATION.get(prepared.orientation)
    if method is not None:
        if draft_box is not None:
            draft_box = _transpose_box(draft_box, method, image.size)
        image = image.transpose(method)

    if plan.scaled_size is not None:
        image, step = _widen(image, "resampling")
        steps.extend(step)
        image = image.resize(plan.scaled_size, RESAMPLING, box=draft_box)
    if plan.small == "pad":
        image, step = _widen(image, "padding")
        steps.extend(step)
        image = _pad(image, plan, background)

    return replace(
        prepared,
        image=image,
        orientation=1,
        conversion="; ".join(steps) or None,
    )


def crop_upright(image: Image.Image, orientation: int, box: tuple[int, int, int, int]):
    """Return the crop at `box` of the upright image, cut from the stored one."""
    method = _TRANSPOSE_FOR_ORIENTATION.get(orientation)
    if method is None:
        return image.crop(box)
    upright = image.size
    if method in _QUARTER_TURNS:
        upright = (image.height, image.width)
    stored_box = _transpose_box(box, _INVERSE[method], upright)
    return image.crop(stored_box).transpose(method)


def _transpose_box(box: Box, method: Image.Transpose, size: tuple[int, int]) -> Box:
    """Return where `box` of an image of `size` lands once `method` is applied."""
    left, top, right, bottom = box
    width, height = size
    if method == Image.Transpose.FLIP_LEFT_RIGHT:
        return width - right, top, width - left, bottom
    if method == Image.Transpose.FLIP_TOP_BOTTOM:
        return left, height - bottom, right, height - top
    if method == Image.Transpose.ROTATE_180:
        return width - right, height - bottom, width - left, height - top
    if method == Image.Transpose.TRANSPOSE:
        return top, left, bottom, right
    if method == Image.Transpose.TRANSVERSE:
        return height - bottom, width - right, height - top, width - left
    if method == Image.Transpose.ROTATE_90:
        # Counter-clockwise: the right edge becomes the top.
        return top, width - right, bottom, width - left
    # ROTATE_270, clockwise: the bottom edge becomes the left.
    return height - bottom, left, height - top, right


def _widen(image: Image.Image, purpose: str) -> tuple[Image.Image, list[str]]:
    if image.mode == "P":
        target = "RGBA" if has_transparency(image) else "RGB"
    elif image.mode == "1" and purpose == "resampling":
        target = "L"
    else:
        return image, []
    description = f"{image.mode} converted to {target} for {purpose}"
    return convert_quietly(image, target), [description]


def _pad(image: Image.Image, plan: SizePlan, background: tuple[int, int, int]):
    """Centre the image on a canvas of the plan's size, filled from `background`.

    Modes with alpha get a transparent pad whose colour channels hold the
    background, so compositing it later gives the background.
    """
    canvas = Image.new(image.mode, plan.size, _pad_fill(image.mode, background))
    canvas.paste(image, plan.pad_offset)
    if "transparency" in image.info:
        canvas.info["transparency"] = image.info["transparency"]
    return canvas


def _pad_fill(mode: str, background: tuple[int, int, int]):
    gray = luma(background)
    red, green, blue = background
    fills = {
        "1": 1 if gray >= 128 else 0,
        "L": gray,
        "LA": (gray, 0),
        "RGB": background,
        "RGBA": (red, green, blue, 0),
        "I;16": gray * 257,
        # Not colour-managed: the plain complement, with no black.
        "CMYK": (255 - red, 255 - green, 255 - blue, 0),
    }
    return fills[mode]


def _round_half_up(value: Fraction) -> int:
    return int(value + Fraction(1, 2))
