import io

import pytest
from imagefiles import encode, rgb_image
from PIL import ExifTags, Image

from cropaug.conversion import PreparedImage, srgb_profile
from cropaug.encoding import encode_crop, exif_for_crop

GPS_LATITUDE = (48.0, 51.0, 30.0)


def source_exif() -> bytes:
    exif = Image.Exif()
    exif[ExifTags.Base.Orientation] = 6
    exif[ExifTags.Base.Make] = "Example Camera"
    exif[ExifTags.Base.ImageWidth] = 4000
    exif[ExifTags.Base.ImageLength] = 3000
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    exif_ifd[ExifTags.Base.ExifImageWidth] = 4000
    exif_ifd[ExifTags.Base.ExifImageHeight] = 3000
    exif_ifd[ExifTags.Base.BodySerialNumber] = "SN-12345"
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    gps[ExifTags.GPS.GPSLatitudeRef] = "N"
    gps[ExifTags.GPS.GPSLatitude] = GPS_LATITUDE
    return exif.tobytes()


def prepared(format: str, **fields) -> PreparedImage:
    fields = {"icc_profile": None, "conversion": None, **fields}
    return PreparedImage(image=rgb_image(), format=format, **fields)


def reopen(data: bytes) -> Image.Image:
    image = Image.open(io.BytesIO(data))
    image.load()
    return image


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_encode_crop_drops_source_metadata(format):
    crop = rgb_image(16, 16)
    crop.info.update(
        exif=source_exif(),
        comment=b"shot at home",
        xmp=b"<x:xmpmeta/>",
        icc_profile=srgb_profile(),
        dpi=(300, 300),
    )
    image = reopen(encode_crop(crop, prepared(format), 95, None, False))
    assert "exif" not in image.info
    assert "comment" not in image.info
    assert "xmp" not in image.info
    assert "icc_profile" not in image.info
    assert dict(image.getexif()) == {}


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_encode_crop_writes_icc_profile(format):
    data = encode_crop(
        rgb_image(16, 16),
        prepared(format, icc_profile=srgb_profile()),
        95,
        None,
        False,
    )
    assert reopen(data).info["icc_profile"] == srgb_profile()


@pytest.mark.parametrize("format", ["JPEG", "PNG", "WEBP"])
def test_encode_crop_writes_exif_when_kept(format):
    exif = exif_for_crop(source_exif(), 16, 16)
    data = encode_crop(rgb_image(16, 16), prepared(format, exif=exif), 95, None, False)
    assert reopen(data).getexif()[ExifTags.Base.Make] == "Example Camera"


@pytest.mark.parametrize(("name", "value"), [("4:4:4", 0), ("4:2:0", 2)])
def test_encode_crop_jpeg_subsampling(name, value):
    from PIL import JpegImagePlugin

    data = encode_crop(rgb_image(32, 32), prepared("JPEG"), 90, value, False)
    assert JpegImagePlugin.get_sampling(reopen(data)) == value


def test_exif_for_crop_removes_orientation():
    exif = reopen_exif(exif_for_crop(source_exif(), 224, 160))
    assert ExifTags.Base.Orientation not in exif


def test_exif_for_crop_sets_size_tags():
    exif = reopen_exif(exif_for_crop(source_exif(), 224, 160))
    exif_ifd = exif.get_ifd(ExifTags.IFD.Exif)
    assert exif[ExifTags.Base.ImageWidth] == 224
    assert exif[ExifTags.Base.ImageLength] == 160
    assert exif_ifd[ExifTags.Base.ExifImageWidth] == 224
    assert exif_ifd[ExifTags.Base.ExifImageHeight] == 160


def test_exif_for_crop_keeps_other_tags():
    exif = reopen_exif(exif_for_crop(source_exif(), 224, 160))
    gps = exif.get_ifd(ExifTags.IFD.GPSInfo)
    assert exif[ExifTags.Base.Make] == "Example Camera"
    assert exif.get_ifd(ExifTags.IFD.Exif)[ExifTags.Base.BodySerialNumber] == (
        "SN-12345"
    )
    assert gps[ExifTags.GPS.GPSLatitude] == (48.0, 51.0, 30.0)


def test_exif_for_crop_adds_no_size_tags():
    exif = Image.Exif()
    exif[ExifTags.Base.Make] = "Example Camera"
    rewritten = reopen_exif(exif_for_crop(exif.tobytes(), 224, 160))
    assert ExifTags.Base.ImageWidth not in rewritten
    assert ExifTags.IFD.Exif not in rewritten


def test_exif_for_crop_drops_thumbnail():
    with_thumbnail = Image.open(io.BytesIO(jpeg_with_thumbnail()))
    assert with_thumbnail.getexif().get_ifd(ExifTags.IFD.IFD1) != {}
    exif = reopen_exif(exif_for_crop(with_thumbnail.info["exif"], 16, 16))
    assert exif.get_ifd(ExifTags.IFD.IFD1) == {}


@pytest.mark.parametrize(
    "exif",
    [
        # IFD0 claims 65535 entries but the data ends.
        b"Exif\x00\x00MM\x00*\x00\x00\x00\x08\xff\xff",
        # Not a TIFF header.
        b"Exif\x00\x00XX\x00*\x00\x00\x00\x08",
    ],
)
def test_exif_for_crop_corrupt(exif):
    assert exif_for_crop(exif, 8, 8) is None


def reopen_exif(data: bytes | None) -> Image.Exif:
    assert data is not None
    exif = Image.Exif()
    exif.load(data)
    return exif


def jpeg_with_thumbnail() -> bytes:
    """Return a JPEG whose EXIF has an IFD1 with a thumbnail, as cameras write."""
    thumbnail = encode(rgb_image(8, 8), "JPEG")
    ifd0_entries = 1
    # Big-endian TIFF: header, IFD0 with Make, then IFD1 pointing at the JPEG.
    make = b"Cam\x00"
    ifd0_offset = 8
    ifd0_size = 2 + 12 * ifd0_entries + 4
    ifd1_offset = ifd0_offset + ifd0_size
    ifd1_size = 2 + 12 * 2 + 4
    thumbnail_offset = ifd1_offset + ifd1_size
    tiff = b"MM\x00*" + (ifd0_offset).to_bytes(4, "big")
    tiff += ifd0_entries.to_bytes(2, "big")
    tiff += (0x010F).to_bytes(2, "big") + (2).to_bytes(2, "big")
    tiff += len(make).to_bytes(4, "big") + make
    tiff += ifd1_offset.to_bytes(4, "big")
    tiff += (2).to_bytes(2, "big")
    tiff += (
        (0x0201).to_bytes(2, "big") + (4).to_bytes(2, "big") + (1).to_bytes(4, "big")
    )
    tiff += thumbnail_offset.to_bytes(4, "big")
    tiff += (
        (0x0202).to_bytes(2, "big") + (4).to_bytes(2, "big") + (1).to_bytes(4, "big")
    )
    tiff += len(thumbnail).to_bytes(4, "big")
    tiff += (0).to_bytes(4, "big")
    tiff += thumbnail
    return encode(rgb_image(32, 32), "JPEG", exif=b"Exif\x00\x00" + tiff)
