"""Run crop jobs on a Dask cluster in batches, with one progress bar in the parent.

Imported only when the dask executor is chosen, so the core install needs no
Dask. Every worker must have the same cropaug, numpy, Pillow and simplejpeg
as the client: each batch reports the worker's versions and the run stops on a
mismatch, because other versions may encode other bytes.
"""

import logging
import math
import sys
from collections.abc import Iterator, Sequence
from contextlib import contextmanager
from pathlib import Path

from tqdm import tqdm

from cropaug.crop import CropJob, CropSettings
from cropaug.errors import CropaugError
from cropaug.progress import crop_and_record

logger = logging.getLogger(__name__)

# Dask's "Best Practices" page puts the overhead of one task at 200 us to 1 ms,
# and one image takes an estimated 10-100 ms to crop, so batches of up to 256
# images keep the scheduler's share small.
MAX_BATCH_SIZE = 256
# Smaller batches when there are few images, so every worker thread gets a few
# batches and a fast worker can take more.
BATCHES_PER_THREAD = 4
# Times a batch whose task raised is run again, on any worker. A batch whose
# worker dies is rerun by the scheduler, up to its `allowed-failures` setting
# (3 by default), and then fails with KilledWorker.
RETRIES = 2


def import_distributed():
    """Import and return Dask's `distributed` package.

    Raises:
        CropaugError: telling the user to install the dask extra.
    """
    try:
        import distributed
    except ImportError:
        raise CropaugError(
            "the dask executor needs Dask's distributed package; install it "
            "with pip install 'cropaug[dask]'"
        ) from None
    return distributed


def run_dask_jobs(
    jobs: Sequence[CropJob],
    src: Path,
    dst: Path,
    settings: CropSettings,
    *,
    workers: int,
    scheduler: str | None,
    progress: bool,
) -> Iterator[dict]:
    """Crop every job on Dask and yield each result record as its batch completes.

    With a scheduler address, the cluster's workers run the batches and
    `workers` is ignored. Without one, a local cluster of `workers`
    single-threaded processes runs on 127.0.0.1 and is closed at the end.

    Raises:
        CropaugError: when the scheduler cannot be reached, a batch kills its
            workers, or a worker runs other library versions.
        OutputWriteError: when a worker cannot write DST after its retries.
    """
    distributed = import_distributed()
    if not jobs:
        # A shard may own no sources; starting a cluster for it wastes seconds.
        return
    # Batches are slices, and the run passes a sequence that makes its jobs
    # one at a time.
    jobs = list(jobs)
    expected = install_versions()
    bar = tqdm(total=len(jobs), unit="image", disable=not progress, file=sys.stderr)
    try:
        with _connect(distributed, scheduler, workers) as client:
            threads = sum(client.nthreads().values())
            if threads == 0:
                logger.warning(
                    "the Dask scheduler at %s has no workers yet; batches wait "
                    "until one connects",
                    scheduler,
                )
            batches = split_batches(jobs, batch_size(len(jobs), threads))
            futures = client.map(
                crop_batch,
                batches,
                src=src,
                dst=dst,
                settings=settings,
                retries=RETRIES,
                pure=False,
            )
            first_source = {
                future.key: batch[0].source
                for future, batch in zip(futures, batches, strict=True)
            }
            try:
                for future in distributed.as_completed(futures, loop=client.loop):
                    batch = _batch_result(distributed, future, first_source)
                    _check_versions(batch, expected)
                    yield from batch["results"]
                    bar.update(len(batch["results"]))
                    future.release()
            finally:
                client.cancel(futures)
    finally:
        bar.close()


def batch_size(job_count: int, threads: int) -> int:
    """Return how many images go into one task for `threads` worker threads."""
    per_thread = math.ceil(job_count / (max(threads, 1) * BATCHES_PER_THREAD))
    return max(1, min(MAX_BATCH_SIZE, per_thread))


def split_batches(jobs: list[CropJob], size: int) -> list[list[CropJob]]:
    """Split jobs into consecutive batches of `size` (the last may be shorter)."""
    return [jobs[start : start + size] for start in range(0, len(jobs), size)]


def crop_batch(
    jobs: list[CropJob], src: Path, dst: Path, settings: CropSettings
) -> dict:
    """Crop a batch on a worker; return its progress lines and the worker's versions."""
    results = [crop_and_record(src, dst, job, settings) for job in jobs]
    return {
        "worker": _worker_address(),
        "versions": install_versions(),
        "results": results,
    }


def install_versions() -> dict[str, str]:
    """Return the versions of cropaug and of the libraries its crops depend on."""
    from cropaug import __version__
    from cropaug.manifest import library_versions

    return {"cropaug": __version__, **library_versions()}


@contextmanager
def _connect(distributed, scheduler: str | None, workers: int):
    cluster = None
    if scheduler:
        # The time allowed to connect is Dask's `distributed.comm.timeouts.connect`
        # setting, 30 s by default.
        try:
            client = distributed.Client(scheduler, set_as_default=False)
        except (OSError, TimeoutError) as error:
            raise CropaugError(
                f"cannot connect to the Dask scheduler at {scheduler}: {error}; "
                "check the address and that the scheduler is running"
            ) from None
    else:
        cluster = distributed.LocalCluster(
            n_workers=workers,
            threads_per_worker=1,
            processes=True,
            host="127.0.0.1",
            dashboard_address=None,
            # Without a dashboard the scheduler still serves its HTTP routes,
            # on port 8787 by default. A free port lets clusters run side by
            # side, and distributed 2026.8 binds it to `host` either way.
            scheduler_kwargs={"dashboard_address": "127.0.0.1:0"},
        )
        client = distributed.Client(cluster, set_as_default=False)
    try:
        yield client
    finally:
        client.close()
        if cluster is not None:
            cluster.close()


def _batch_result(distributed, future, first_source: dict) -> dict:
    try:
        return future.result()
    except distributed.KilledWorker:
        raise CropaugError(
            f"the batch starting at {first_source[future.key]} stopped every "
            "worker that ran it; a worker may run out of memory on one of its "
            "images, so check the worker logs"
        ) from None


def _check_versions(batch: dict, expected: dict[str, str]) -> None:
    if batch["versions"] != expected:
        raise CropaugError(
            f"Dask worker {batch['worker']} runs {batch['versions']}, but this "
            f"client runs {expected}; install the same versions of these "
            "libraries on every worker, because other versions may write "
            "other bytes"
        )


def _worker_address() -> str:
    from distributed import get_worker

    try:
        return get_worker().address
    except ValueError:
        return "outside a worker"
