"""Turn the rounds of a benchmark run into a Markdown report with target checks."""

import statistics

from bench.floor import floor_seconds

# Bytes of the largest decoded image in the 12-megapixel set (RGB, 8 bits).
LARGEST_DECODED_BYTES = 4032 * 3024 * 3

LABELS = {
    "floor": "floor: best codec per stage, x workers",
    "cropaug": "cropaug expand",
    "pillow-per-crop": "Pillow, reopen per crop",
    "albumentations": "albumentations RandomCrop + OpenCV I/O",
    "augmentor": "Augmentor sample(), threaded",
}


def format_report(results: dict) -> str:
    """Return the machine, one table per dataset and the target checks."""
    rounds = [_rates(rows) for rows in results["rounds"]]
    idle_kib = results["idle_worker_kib"]
    load = results["load_average"]
    lines = [_format_machine(results["machine"]), ""]
    lines.append(
        f"Load average (1 minute) from {min(load):.1f} to {max(load):.1f} while the "
        f"rounds ran, on {results['machine']['cores']} cores."
    )
    lines.append("")
    lines.append(
        f"{len(rounds)} rounds; crops/s is the median round (lowest-highest), "
        "ratios are medians of each round's ratio. CPU ms/crop counts every "
        "process of the row (for the floor: its stages). Peak memory is the peak "
        "resident memory (VmHWM) in MiB; an idle process with cropaug's worker "
        f"imports peaks at {idle_kib / 1024:.0f} MiB."
    )
    for dataset in ("imagenet", "photos-12mp"):
        lines += ["", f"### {dataset}", "", *_format_table(rounds, dataset)]
    lines += ["", "### Targets", "", *_format_targets(rounds, idle_kib)]
    lines += ["", "### CLI start", "", *_format_cli_start(results["cli_start"])]
    return "\n".join(lines)


def _format_cli_start(timings: dict[str, list[float]]) -> list[str]:
    lines = ["| command | median s | max s | runs |", "|---|---|---|---|"]
    for option, seconds in timings.items():
        lines.append(
            f"| cropaug {option} | {statistics.median(seconds):.3f} "
            f"| {max(seconds):.3f} | {len(seconds)} |"
        )
    return lines


def _rates(rows: list[dict]) -> dict:
    """Key each measured row of one round by (set, way, workers)."""
    rates = {}
    for row in rows:
        if row["way"] == "floor":
            per_core = row["crops"] / floor_seconds(row)
            cpu_per_crop = floor_seconds(row, "cpu_seconds") / row["crops"]
            for workers in (1, 2):
                rates[(row["set"], "floor", workers)] = {
                    "rate": per_core * workers,
                    "seconds": floor_seconds(row) / workers,
                    "cpu_per_crop": cpu_per_crop,
                }
            continue
        rates[(row["set"], row["way"], row["workers"])] = {
            "rate": row["crops"] / row["seconds"],
            "seconds": row["seconds"],
            "cpu_per_crop": row["cpu_seconds"] / row["crops"],
            "parent_kib": row["parent_kib"],
            "child_kib": row["child_kib"],
        }
    return rates


def _format_machine(machine: dict) -> str:
    versions = ", ".join(
        f"{name} {version}"
        for name, version in machine["versions"].items()
        if version is not None
    )
    return (
        f"Machine: {machine['cpu']}, {machine['cores']} cores, "
        f"Python {machine['python']}, {machine['system']}. Libraries: {versions}."
    )


def _format_table(rounds: list[dict], dataset: str) -> list[str]:
    lines = [
        "| way | workers | crops/s | x floor | x cropaug | CPU ms/crop "
        "| peak MiB: parent / worker |",
        "|---|---|---|---|---|---|---|",
    ]
    keys = [key for key in rounds[0] if key[0] == dataset]
    keys.sort(key=lambda key: -statistics.median(r[key]["rate"] for r in rounds))
    for key in keys:
        _, way, workers = key
        rates = [r[key]["rate"] for r in rounds]
        cpu = statistics.median(r[key]["cpu_per_crop"] for r in rounds) * 1000
        to_floor = _median_ratio(rounds, key, (dataset, "floor", workers))
        to_cropaug = _median_ratio(rounds, key, (dataset, "cropaug", workers))
        lines.append(
            f"| {LABELS[way]} | {workers} | {statistics.median(rates):,.0f} "
            f"({min(rates):,.0f}-{max(rates):,.0f}) | {to_floor} | {to_cropaug} "
            f"| {cpu:.2f} | {_format_memory(rounds, key)} |"
        )
    return lines


def _median_ratio(rounds: list[dict], key: tuple, base: tuple) -> str:
    if key == base or base not in rounds[0]:
        return "-"
    ratios = [r[key]["rate"] / r[base]["rate"] for r in rounds]
    return f"{statistics.median(ratios):.2f}"


def _format_memory(rounds: list[dict], key: tuple) -> str:
    if "parent_kib" not in rounds[0][key]:
        return "-"
    parent = max(r[key]["parent_kib"] for r in rounds) / 1024
    child = max(r[key]["child_kib"] for r in rounds) / 1024
    if key[1] in ("pillow-per-crop", "augmentor") or key[2] == 1:
        return f"{parent:.0f} / -"
    return f"{parent:.0f} / {child:.0f}"


def _format_targets(rounds: list[dict], idle_kib: int) -> list[str]:
    checks = []

    def ratio(key: tuple, base: tuple) -> float | None:
        if key not in rounds[0] or base not in rounds[0]:
            return None
        return statistics.median(r[key]["rate"] / r[base]["rate"] for r in rounds)

    cropaug = ("imagenet", "cropaug", 2)
    checks.append(
        (
            "ImageNet-sized, 2 workers: cropaug / floor",
            ratio(cropaug, ("imagenet", "floor", 2)),
            0.8,
        )
    )
    for way, target in (("albumentations", 2.5), ("augmentor", 6.0)):
        checks.append(
            (f"cropaug / {way}", ratio(cropaug, ("imagenet", way, 2)), target)
        )
    photos = ("photos-12mp", "cropaug", 2)
    checks.append(
        (
            "12 MP, 2 workers: cropaug / floor",
            ratio(photos, ("photos-12mp", "floor", 2)),
            0.8,
        )
    )

    lines = ["| check | measured | target | met |", "|---|---|---|---|"]
    for name, value, target in checks:
        if value is None:
            lines.append(f"| {name} | not installed | >= {target} | - |")
            continue
        met = "yes" if value >= target else "no"
        lines.append(f"| {name} | {value:.2f} | >= {target} | {met} |")

    scaling = statistics.median(
        r[cropaug]["seconds"] / r[("imagenet-100", "cropaug", 2)]["seconds"]
        for r in rounds
    )
    met = "yes" if scaling <= 10.5 else "no"
    lines.append(
        f"| time for 1,000 images / time for 100, 2 workers | {scaling:.2f} "
        f"| <= 10.5 | {met} |"
    )

    start = statistics.median(
        r[("imagenet-10", "cropaug", 2)]["seconds"] for r in rounds
    )
    lines.append(
        f"| fixed cost of a cropaug run, 2 workers (10 images), s | {start:.2f} "
        "| none | - |"
    )
    for dataset in ("imagenet", "photos-12mp"):
        key = (dataset, "cropaug", 2)
        steady = statistics.median(
            r[key]["rate"]
            * r[key]["seconds"]
            / (r[key]["seconds"] - r[("imagenet-10", "cropaug", 2)]["seconds"])
            / r[(dataset, "floor", 2)]["rate"]
            for r in rounds
        )
        lines.append(
            f"| {dataset}, 2 workers: cropaug without the fixed cost / floor "
            f"| {steady:.2f} | none, shows the steady rate | - |"
        )
    for dataset in ("imagenet", "photos-12mp"):
        efficiency = statistics.median(
            r[(dataset, "floor", 1)]["cpu_per_crop"]
            / r[(dataset, "cropaug", 1)]["cpu_per_crop"]
            for r in rounds
        )
        lines.append(
            f"| {dataset}, CPU time per crop: floor / cropaug, 1 worker "
            f"| {efficiency:.2f} | none, shows the code's overhead | - |"
        )

    peak = max(r[photos]["child_kib"] for r in rounds) * 1024
    working = peak - idle_kib * 1024
    limit = 2 * LARGEST_DECODED_BYTES
    met = "yes" if working < limit else "no"
    lines.append(
        f"| 12 MP worker peak above an idle worker, MiB | {working / 2**20:.0f} "
        f"| < {limit / 2**20:.0f} (2x one decoded image) | {met} |"
    )
    return lines
