"""Build the benchmark datasets from the real photos in the repository.

Every image is a random crop of one of the repository's photos, scaled and
colour-jittered, then saved as JPEG quality 90 with 4:2:0 chroma, like most
camera and web JPEGs. Two sets are built, each as class folders:

- `imagenet`: about 1,000 images of about 500x375, the size of a typical
  ImageNet training image.
- `photos-12mp`: 20 images of 4032x3024, the size of a 12-megapixel phone
  photo. The repository's photos are smaller than that, so each one is a
  mosaic of scaled-up crops. Scaled-up pixels are smoother than a camera's,
  so a little sensor-like grain is added to bring the file size and the
  decode time closer to a real photo's.

The sets are built once into a cache folder and reused while the recipe
version below is unchanged.
"""

import json
import os
import shutil
from pathlib import Path

import numpy as np
from PIL import Image, ImageEnhance, ImageOps

REPOSITORY = Path(__file__).resolve().parent.parent

# Bump when the recipe changes, so that cached sets are rebuilt.
RECIPE_VERSION = 2

PHOTO_SOURCES = [
    "sample_data/scenes/astronaut.png",
    "sample_data/scenes/chelsea.png",
    "sample_data/scenes/coffee.png",
    "sample_data/scenes/rocket.jpg",
    "sample_data/science/hubble_deep_field.jpg",
    "sample_data/science/retina.jpg",
    "tests/data/exif-orientation/Landscape_3.jpg",
    "tests/data/exif-orientation/Portrait_6.jpg",
]
# Grayscale photos, tinted into colour for most outputs.
GRAY_SOURCES = [
    "sample_data/scenes/camera.png",
    "sample_data/scenes/clock_motion.png",
    "sample_data/textures/brick.png",
    "sample_data/textures/grass.png",
    "sample_data/textures/gravel.png",
]

# Width x height of the ImageNet-like images, with their shares.
IMAGENET_SIZES = [((500, 375), 0.6), ((500, 333), 0.15), ((375, 500), 0.15)]
IMAGENET_CLASSES = 10
IMAGENET_PER_CLASS = 100
# A small share of grayscale images, as photo datasets have.
GRAY_SHARE = 0.02
# Standard deviation of the grain added to every image, in 8-bit levels.
IMAGENET_GRAIN = 4.0

PHOTO_SIZE = (4032, 3024)
PHOTO_CLASSES = 2
PHOTO_PER_CLASS = 10
PHOTO_TILES = (4, 3)
# Standard deviation of the added grain, in 8-bit levels.
PHOTO_GRAIN = 2.5

JPEG_QUALITY = 90


def build_all(cache: Path) -> dict[str, Path]:
    """Build every set that is missing or stale and return their folders by name."""
    return {
        "imagenet": _build_once(cache / "imagenet", _build_imagenet),
        "photos-12mp": _build_once(cache / "photos-12mp", _build_photos),
    }


def subset(root: Path, target: Path, per_class: int) -> Path:
    """Hard-link the first `per_class` images of every class of `root` into `target`."""
    marker = target / ".complete"
    if marker.exists():
        return target
    shutil.rmtree(target, ignore_errors=True)
    for class_folder in sorted(p for p in root.iterdir() if p.is_dir()):
        (target / class_folder.name).mkdir(parents=True)
        for image in sorted(class_folder.iterdir())[:per_class]:
            os.link(image, target / class_folder.name / image.name)
    marker.write_text("")
    return target


def _build_once(folder: Path, build) -> Path:
    marker = folder / ".complete"
    recipe = json.dumps({"version": RECIPE_VERSION})
    if marker.exists() and marker.read_text() == recipe:
        return folder
    shutil.rmtree(folder, ignore_errors=True)
    folder.mkdir(parents=True)
    build(folder)
    marker.write_text(recipe)
    return folder


def _load_sources() -> tuple[list[Image.Image], list[Image.Image]]:
    photos = [_load_upright(path).convert("RGB") for path in PHOTO_SOURCES]
    grays = [_load_upright(path).convert("L") for path in GRAY_SOURCES]
    return photos, grays


def _load_upright(relative: str) -> Image.Image:
    with Image.open(REPOSITORY / relative) as image:
        return ImageOps.exif_transpose(image)


def _build_imagenet(folder: Path) -> None:
    rng = np.random.default_rng(2024)
    photos, grays = _load_sources()
    sizes = [size for size, _ in IMAGENET_SIZES]
    shares = np.array([share for _, share in IMAGENET_SIZES])
    shares = shares / shares.sum()

    for class_index in range(IMAGENET_CLASSES):
        class_folder = folder / f"class{class_index:02d}"
        class_folder.mkdir()
        for index in range(IMAGENET_PER_CLASS):
            width, height = sizes[rng.choice(len(sizes), p=shares)]
            # Vary each side a little, as real images vary.
            width += int(rng.integers(-16, 17))
            height += int(rng.integers(-16, 17))
            image = _random_view(rng, photos, grays, (width, height))
            image = _add_grain(rng, image, IMAGENET_GRAIN)
            if rng.random() < GRAY_SHARE:
                image = image.convert("L")
            image.save(
                class_folder / f"{index:04d}.jpg",
                "JPEG",
                quality=JPEG_QUALITY,
                subsampling="4:2:0",
            )


def _build_photos(folder: Path) -> None:
    rng = np.random.default_rng(12)
    photos, grays = _load_sources()
    columns, rows = PHOTO_TILES
    tile_width, tile_height = PHOTO_SIZE[0] // columns, PHOTO_SIZE[1] // rows

    for class_index in range(PHOTO_CLASSES):
        class_folder = folder / f"class{class_index:02d}"
        class_folder.mkdir()
        for index in range(PHOTO_PER_CLASS):
            mosaic = Image.new("RGB", PHOTO_SIZE)
            for row in range(rows):
                for column in range(columns):
                    tile = _random_view(rng, photos, grays, (tile_width, tile_height))
                    mosaic.paste(tile, (column * tile_width, row * tile_height))
            grainy = _add_grain(rng, mosaic, PHOTO_GRAIN)
            grainy.save(
                class_folder / f"{index:04d}.jpg",
                "JPEG",
                quality=JPEG_QUALITY,
                subsampling="4:2:0",
            )


def _random_view(
    rng: np.random.Generator,
    photos: list[Image.Image],
    grays: list[Image.Image],
    size: tuple[int, int],
) -> Image.Image:
    """Crop a random region of a random photo, scale it to `size` and jitter colours."""
    use_gray = rng.random() < len(grays) / (len(grays) + len(photos))
    pool = grays if use_gray else photos
    source = pool[rng.integers(len(pool))]

    # A region no smaller than the output where the source allows, so that
    # most images are scaled down and keep a photo's detail per pixel.
    aspect = size[0] / size[1]
    max_width = int(min(source.width, source.height * aspect))
    min_width = min(size[0], max_width)
    region_width = int(rng.integers(min_width, max_width + 1))
    region_height = max(8, int(region_width / aspect))
    left = int(rng.integers(0, source.width - region_width + 1))
    top = int(rng.integers(0, source.height - region_height + 1))
    region = source.crop((left, top, left + region_width, region_height + top))

    upscaling = size[0] > region_width
    resample = Image.Resampling.BICUBIC if upscaling else Image.Resampling.LANCZOS
    image = region.resize(size, resample)
    if image.mode == "L":
        image = _tint(rng, image)
    if rng.random() < 0.5:
        image = ImageOps.mirror(image)

    image = ImageEnhance.Brightness(image).enhance(rng.uniform(0.75, 1.25))
    image = ImageEnhance.Contrast(image).enhance(rng.uniform(0.75, 1.25))
    return ImageEnhance.Color(image).enhance(rng.uniform(0.6, 1.4))


def _add_grain(
    rng: np.random.Generator, image: Image.Image, sigma: float
) -> Image.Image:
    """Add the same Gaussian noise to every channel, like a sensor's luma grain."""
    pixels = np.asarray(image, dtype=np.float32)
    pixels += rng.normal(0.0, sigma, size=pixels.shape[:2])[..., None]
    return Image.fromarray(np.clip(pixels, 0, 255).astype(np.uint8))


def _tint(rng: np.random.Generator, gray: Image.Image) -> Image.Image:
    """Colour a grayscale image between a random dark and light colour."""
    dark = tuple(int(v) for v in rng.integers(0, 60, size=3))
    light = tuple(int(v) for v in rng.integers(190, 256, size=3))
    return ImageOps.colorize(gray, dark, light)
