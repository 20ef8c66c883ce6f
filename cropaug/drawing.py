"""Draw crop boxes over a source, a strip of the crops, and contact sheets."""

from dataclasses import dataclass, field

from PIL import Image, ImageDraw, ImageEnhance, ImageFont

# Saturated colours that stay distinct from each other and from most photo
# content; box i gets colour i modulo the list.
PALETTE = [
    (255, 59, 48),
    (52, 199, 89),
    (0, 122, 255),
    (255, 204, 0),
    (175, 82, 222),
    (255, 149, 0),
    (0, 199, 190),
    (255, 45, 85),
    (162, 132, 94),
    (88, 86, 214),
]
CANVAS = (248, 248, 246)
INK = (28, 28, 30)
MUTED = (110, 110, 115)

MARGIN = 24
OUTLINE_WIDTH = 3
PANEL_MAX = (1024, 720)
THUMBNAIL = 144
MAX_STRIP_CROPS = 40
TILE = 280
SHEET_COLUMNS = 4
# Brightness of the parts of the source that no crop covers.
UNCOVERED_BRIGHTNESS = 0.45
# Written after the number of a crop that is mirrored left to right.
FLIPPED_MARK = "F"


@dataclass
class Picture:
    """A rendered preview and where the source's pixels landed in it."""

    image: Image.Image
    # Top-left corner of the source in the picture, and picture pixels per
    # source pixel.
    origin: tuple[int, int]
    scale: float
    colors: list[tuple[int, int, int]] = field(default_factory=list)


@dataclass
class Tile:
    """One source of a contact sheet: its pixels, boxes and caption.

    Boxes are in the pixels of `size`, the source's size. The `image` may be
    smaller.
    """

    image: Image.Image
    size: tuple[int, int]
    boxes: list[tuple[int, int, int, int]]
    caption: str


def box_color(index: int) -> tuple[int, int, int]:
    """Return the outline colour of box `index`."""
    return PALETTE[index % len(PALETTE)]


def draw_preview(
    source: Image.Image,
    source_size: tuple[int, int],
    boxes: list[tuple[int, int, int, int]],
    crops: list[Image.Image],
    title: str,
    caption: str,
    flipped: list[bool] | None = None,
) -> Picture:
    """Draw the source with every (x, y, width, height) box outlined and numbered.

    Boxes are in the pixels of `source_size`. The `source` picture may be
    smaller, such as one already reduced to the preview's scale. Below the
    source, a strip shows the first MAX_STRIP_CROPS crops, each framed in its
    box's colour. Parts of the source that no box covers are darkened. The
    number of each box whose `flipped` entry is true ends in FLIPPED_MARK,
    in the picture and in the strip.
    """
    labels = [
        f"{index}{FLIPPED_MARK}" if flipped and flipped[index] else str(index)
        for index in range(len(boxes))
    ]
    scale = fit_scale(source_size, PANEL_MAX)
    panel = _darken_uncovered(scaled_to(source, source_size, scale), boxes, scale)

    strip_crops = crops[:MAX_STRIP_CROPS]
    strip_columns = max(1, (max(panel.width, 640)) // (THUMBNAIL + 12))
    width = max(panel.width, strip_columns * (THUMBNAIL + 12) - 12) + 2 * MARGIN
    caption_font, label_font = _font(15), _font(14)
    caption_lines = _wrap(caption, caption_font, width - 2 * MARGIN)
    header = _header_height(caption_lines)
    strip_rows = -(-len(strip_crops) // strip_columns) if strip_crops else 0
    thumb_cell = THUMBNAIL + 12 + 20
    height = MARGIN + header + panel.height + MARGIN + strip_rows * thumb_cell
    if len(crops) > len(strip_crops):
        height += 24
    height += MARGIN // 2

    picture = Image.new("RGB", (width, height), CANVAS)
    draw = ImageDraw.Draw(picture)
    _draw_header(draw, title, caption_lines, caption_font)

    origin = (MARGIN, MARGIN + header)
    picture.paste(panel, origin)
    _outline_boxes(draw, boxes, origin, scale, label_font, labels=labels)
    colors = _color_indexes(boxes)

    top = origin[1] + panel.height + MARGIN
    for index, crop in enumerate(strip_crops):
        row, column = divmod(index, strip_columns)
        left = MARGIN + column * (THUMBNAIL + 12)
        corner = (left, top + row * thumb_cell)
        _thumbnail(
            picture, draw, crop, corner, colors[index], labels[index], label_font
        )
    if len(crops) > len(strip_crops):
        note = f"first {len(strip_crops)} of {len(crops)} crops shown"
        draw.text(
            (MARGIN, top + strip_rows * thumb_cell), note, fill=MUTED, font=caption_font
        )
    colors = [box_color(index) for index in range(len(boxes))]
    return Picture(image=picture, origin=origin, scale=scale, colors=colors)


def draw_sheet(tiles: list[Tile], title: str, caption: str) -> Image.Image:
    """Draw a contact sheet: one cell per source with its boxes and a caption."""
    columns = max(1, min(SHEET_COLUMNS, len(tiles)))
    rows = -(-len(tiles) // columns)
    cell_width, cell_height = TILE + 16, TILE + 16 + 22
    width = max(columns * cell_width - 16 + 2 * MARGIN, 480)
    header_font = _font(15)
    caption_lines = _wrap(caption, header_font, width - 2 * MARGIN)
    header = _header_height(caption_lines)
    height = MARGIN + header + rows * cell_height + MARGIN // 2

    sheet = Image.new("RGB", (width, height), CANVAS)
    draw = ImageDraw.Draw(sheet)
    _draw_header(draw, title, caption_lines, header_font)
    caption_font = _font(13)

    for index, tile in enumerate(tiles):
        row, column = divmod(index, columns)
        left = MARGIN + column * cell_width
        top = MARGIN + header + row * cell_height
        scale = fit_scale(tile.size, (TILE, TILE))
        panel = scaled_to(tile.image, tile.size, scale)
        panel = _darken_uncovered(panel, tile.boxes, scale)
        offset = ((TILE - panel.width) // 2, (TILE - panel.height) // 2)
        origin = (left + offset[0], top + offset[1])
        draw.rectangle(
            (left, top, left + TILE - 1, top + TILE - 1), fill=(235, 235, 232)
        )
        sheet.paste(panel, origin)
        _outline_boxes(draw, tile.boxes, origin, scale, None, width=2)
        text = _fit_text(draw, tile.caption, caption_font, TILE)
        draw.text((left, top + TILE + 4), text, fill=INK, font=caption_font)
    return sheet


def fit_scale(size: tuple[int, int], bounds: tuple[int, int]) -> float:
    """Return the factor that fits `size` into `bounds`.

    Images smaller than `bounds` are enlarged by the largest whole factor
    that fits, so that small sources stay visible and their pixels square.
    """
    scale = min(bounds[0] / size[0], bounds[1] / size[1])
    if scale >= 1:
        return float(int(scale))
    return scale


def display_box(
    box: tuple[int, int, int, int], origin: tuple[int, int], scale: float
) -> tuple[int, int, int, int]:
    """Return the picture pixels (left, top, right, bottom) inclusive of a box."""
    x, y, width, height = box
    left = origin[0] + round(x * scale)
    top = origin[1] + round(y * scale)
    right = origin[0] + max(round((x + width) * scale), round(x * scale) + 1) - 1
    bottom = origin[1] + max(round((y + height) * scale), round(y * scale) + 1) - 1
    return left, top, right, bottom


def _wrap(text: str, font, width: int) -> list[str]:
    """Break text into lines at spaces so that each fits `width` pixels."""
    lines: list[str] = []
    for word in text.split(" "):
        if lines and font.getlength(f"{lines[-1]} {word}") <= width:
            lines[-1] = f"{lines[-1]} {word}"
        else:
            lines.append(word)
    return lines


def _header_height(caption_lines: list[str]) -> int:
    return 34 + 20 * len(caption_lines) + 8


def _draw_header(draw, title: str, caption_lines: list[str], font) -> None:
    draw.text((MARGIN, MARGIN), title, fill=INK, font=_font(22))
    for index, line in enumerate(caption_lines):
        draw.text((MARGIN, MARGIN + 34 + 20 * index), line, fill=MUTED, font=font)


def _outline_boxes(
    draw, boxes, origin, scale, label_font, width=OUTLINE_WIDTH, labels=None
):
    # Every outline is drawn before any label, so no line crosses a number.
    displayed = [display_box(box, origin, scale) for box in boxes]
    colors = _color_indexes(boxes)
    for index, rectangle in enumerate(displayed):
        draw.rectangle(rectangle, outline=box_color(colors[index]), width=width)
    if label_font is None:
        return
    # Boxes drawn on one rectangle, such as mode ten's plain and mirrored
    # pairs, share one colour and one tag that lists their numbers.
    tags: dict[tuple[int, int, int, int], list[int]] = {}
    for index, rectangle in enumerate(displayed):
        tags.setdefault(rectangle, []).append(index)
    for (left, top, _, _), indexes in tags.items():
        texts = [labels[index] if labels else str(index) for index in indexes]
        color = box_color(colors[indexes[0]])
        _label(draw, (left, top), ", ".join(texts), color, label_font)


def _color_indexes(boxes) -> list[int]:
    """Return, for each box, the index of the first box on the same rectangle.

    Boxes on one rectangle are drawn and framed in that first box's colour.
    """
    first_on: dict = {}
    return [first_on.setdefault(tuple(box), index) for index, box in enumerate(boxes)]


def _label(draw, corner, text, color, font) -> None:
    _, text_top, text_right, text_bottom = draw.textbbox((0, 0), text, font=font)
    left, top = corner
    draw.rectangle(
        (left, top, left + text_right + 9, top + text_bottom - text_top + 7), fill=color
    )
    draw.text((left + 5, top + 4 - text_top), text, fill=_text_color(color), font=font)


def _thumbnail(picture, draw, crop, corner, index, label, font) -> None:
    left, top = corner
    color = box_color(index)
    scale = fit_scale(crop.size, (THUMBNAIL - 6, THUMBNAIL - 6))
    strip_crops = scaled_to(crop, crop.size, scale)
    draw.rectangle((left, top, left + THUMBNAIL - 1, top + THUMBNAIL - 1), fill=color)
    offset = (
        (THUMBNAIL - strip_crops.width) // 2,
        (THUMBNAIL - strip_crops.height) // 2,
    )
    picture.paste(strip_crops, (left + offset[0], top + offset[1]))
    text_width = draw.textlength(label, font=font)
    draw.text(
        (left + (THUMBNAIL - text_width) / 2, top + THUMBNAIL + 3),
        label,
        fill=INK,
        font=font,
    )


def scaled_size(size: tuple[int, int], scale: float) -> tuple[int, int]:
    """Return `size` multiplied by `scale`, at least one pixel each way."""
    return max(1, round(size[0] * scale)), max(1, round(size[1] * scale))


def scaled_to(
    image: Image.Image, source_size: tuple[int, int], scale: float
) -> Image.Image:
    """Resize an image of a source of `source_size` to that size times `scale`."""
    size = scaled_size(source_size, scale)
    if image.size == size:
        return image
    enlarging = size[0] > image.width
    resample = Image.Resampling.NEAREST if enlarging else Image.Resampling.LANCZOS
    return image.resize(size, resample)


def _darken_uncovered(panel: Image.Image, boxes, scale: float) -> Image.Image:
    if not boxes:
        return panel
    mask = Image.new("L", panel.size, 0)
    mask_draw = ImageDraw.Draw(mask)
    for box in boxes:
        mask_draw.rectangle(display_box(box, (0, 0), scale), fill=255)
    dark = ImageEnhance.Brightness(panel).enhance(UNCOVERED_BRIGHTNESS)
    return Image.composite(panel, dark, mask)


def _fit_text(draw, text: str, font, width: int) -> str:
    if draw.textlength(text, font=font) <= width:
        return text
    while text and draw.textlength(text + "…", font=font) > width:
        text = text[:-1]
    return text + "…"


def _text_color(color: tuple[int, int, int]) -> tuple[int, int, int]:
    red, green, blue = color
    # ITU-R 601 luma: light fills get dark text.
    luma = (red * 299 + green * 587 + blue * 114) / 1000
    return INK if luma > 150 else (255, 255, 255)


def _font(size: int):
    # Since Pillow 10.1, load_default(size) returns the bundled Aileron Regular
    # at that size when Pillow has FreeType (as its docstring states), so no
    # system font is needed. Without FreeType it returns a small bitmap font.
    return ImageFont.load_default(size=size)
