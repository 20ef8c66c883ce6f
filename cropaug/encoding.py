"""Encode crops, with the metadata cropaug chooses to carry and nothing else."""

import io

from PIL import ExifTags, Image

from cropaug.conversion import PreparedImage

# Output format names as Pillow spells them, with the extension cropaug writes.
EXTENSIONS = {"JPEG": ".jpg", "PNG": ".png", "WEBP": ".webp", "BMP": ".bmp"}

# Chroma subsampling as Pillow's JPEG encoder numbers it.
SUBSAMPLING = {"4:4:4": 0, "4:2:2": 1, "4:2:0": 2}

# Formats whose Pillow encoder writes an EXIF block.
EXIF_FORMATS = frozenset({"JPEG", "PNG", "WEBP"})

# Tags that state the image size: ImageWidth and ImageLength in IFD0, and
# PixelXDimension and PixelYDimension (Pillow's ExifImageWidth and
# ExifImageHeight) in the Exif IFD.
_IFD0_SIZE_TAGS = (ExifTags.Base.ImageWidth, ExifTags.Base.ImageLength)
_EXIF_IFD_SIZE_TAGS = (ExifTags.Base.ExifImageWidth, ExifTags.Base.ExifImageHeight)


def encode_crop(
    image: Image.Image,
    prepared: PreparedImage,
    quality: int,
    subsampling: int | None,
    lossless: bool,
) -> bytes:
    """Encode one crop with the prepared ICC profile and EXIF block, if any.

    The crop's `info` is cleared first, because Pillow's encoders otherwise
    copy some of it into the file (a JPEG comment, the source's ICC profile
    in PNG), which could carry metadata cropaug chose to drop.
    """
    image.info = {}
    options: dict = {}
    if prepared.icc_profile:
        options["icc_profile"] = prepared.icc_profile
    if prepared.exif and prepared.format in EXIF_FORMATS:
        options["exif"] = prepared.exif
    if prepared.format == "JPEG":
        options["quality"] = quality
        if subsampling is not None and image.mode == "RGB":
            options["subsampling"] = subsampling
    elif prepared.format == "WEBP":
        options["quality"] = quality
        options["lossless"] = lossless
        # Keep the colour of fully transparent pixels, so lossless is exact.
        options["exact"] = lossless
    elif prepared.format == "PNG" and "transparency" in prepared.image.info:
        options["transparency"] = prepared.image.info["transparency"]

    buffer = io.BytesIO()
    image.save(buffer, prepared.format, **options)
    return buffer.getvalue()


def exif_for_crop(exif: bytes, width: int, height: int) -> bytes | None:
    """Return a source's EXIF block rewritten for one crop, or None if corrupt.

    The Orientation tag is removed, because crops are written upright, and
    the size tags that are present are set to the crop's size. The thumbnail
    (IFD1) is not written, because it shows the whole source. GPS and every
    other tag are kept.
    """
    from cropaug.imaging import ORIENTATION_TAG, quiet_pillow

    with quiet_pillow() as caught:
        try:
            parsed = Image.Exif()
            parsed.load(exif)
            parsed.pop(ORIENTATION_TAG, None)
            for tag, value in zip(_IFD0_SIZE_TAGS, (width, height), strict=True):
                if tag in parsed:
                    parsed[tag] = value
            if ExifTags.IFD.Exif in parsed:
                exif_ifd = parsed.get_ifd(ExifTags.IFD.Exif)
                for tag, value in zip(
                    _EXIF_IFD_SIZE_TAGS, (width, height), strict=True
                ):
                    if tag in exif_ifd:
                        exif_ifd[tag] = value
            rewritten = parsed.tobytes()
        except Exception:
            # A corrupt EXIF block can fail in many ways inside Pillow's TIFF
            # parser; the crops are then written without EXIF.
            return None
        # Pillow skips what it cannot parse and warns; a partial copy could
        # misstate the source, so none is written.
        if caught:
            return None
    return rewritten
