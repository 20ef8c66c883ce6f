"""Draw crop corners one at a time, keeping each a minimum distance from the rest.

The distance between two corners is the Chebyshev distance, the larger of
their column and row differences. With `min_shift` D, a position is free
while every accepted corner is at least D away from it. Each corner drawn is
uniform over the positions still free, and drawing stops only when no
position is free, so the result is a maximal set: no further corner fits.

Two phases keep this cheap without ever listing the positions:

- Rejection: positions come from a sparse Fisher-Yates shuffle (the stream
  that `sampling.sample_corners` draws), and a position too close to an
  accepted corner is discarded. Accepted corners sit in a hash grid of
  D x D cells, and one cell contains at most one corner, so a check looks at
  the 3 x 3 cells around the position.
- Counting: MAX_CONSECUTIVE_REJECTIONS discards in a row mean that most
  positions are blocked. A corner blocks fewer than 4 D x D cells' worth of
  positions, so the grid then has only a few cells per accepted corner. The
  sampler counts the free positions of every cell, keeps the counts in a
  Fenwick tree, and draws a free position by its rank.

With D = 1 no position is ever discarded, and the corners are exactly those
of `sample_corners` for the same generator.
"""

import numpy as np

from cropaug.sampling import uniform_below

# Discards in a row before the sampler switches to counting free positions.
# When a fraction f of the positions is still free, the switch happens with
# probability (1 - f) ** 64: below 1e-6 while a fifth is free.
MAX_CONSECUTIVE_REJECTIONS = 64


class CornerSampler:
    """Draw corners of one image's crop positions, `min_shift` apart.

    Positions are the `columns` x `rows` corners of a fixed-size box inside
    the image. `draw` returns None once no free position is left.
    """

    def __init__(self, columns: int, rows: int, min_shift: int):
        if min_shift < 1:
            raise ValueError(f"min_shift must be at least 1, not {min_shift}")
        self.columns = columns
        self.rows = rows
        self.min_shift = min_shift
        self.accepted: list[tuple[int, int]] = []
        self._total = columns * rows
        self._drawn = 0
        self._swapped: dict[int, int] = {}
        self._cells: dict[tuple[int, int], tuple[int, int]] = {}
        self._counts: _FenwickTree | None = None
        self._grid_columns = -(-columns // min_shift)
        self._grid_rows = -(-rows // min_shift)

    def draw(self, rng: np.random.Generator) -> tuple[int, int] | None:
        """Draw the next corner, or return None when every position is blocked."""
        if self._counts is None:
            rejections = 0
            while self._drawn < self._total:
                x, y = self._next_from_stream(rng)
                if self._is_free(x, y):
                    self._accept(x, y)
                    return x, y
                rejections += 1
                if rejections == MAX_CONSECUTIVE_REJECTIONS:
                    self._start_counting()
                    break
            else:
                return None
        return self._draw_by_rank(rng)

    def _next_from_stream(self, rng: np.random.Generator) -> tuple[int, int]:
        # One step of the sparse Fisher-Yates shuffle of sampling.sample_corners.
        i = self._drawn
        j = i + uniform_below(rng, self._total - i)
        chosen = self._swapped.get(j, j)
        self._swapped[j] = self._swapped.get(i, i)
        self._drawn += 1
        y, x = divmod(chosen, self.columns)
        return x, y

    def _is_free(self, x: int, y: int) -> bool:
        if self.min_shift == 1:
            # The stream never repeats a position, so every draw is free.
            return True
        cell_x, cell_y = x // self.min_shift, y // self.min_shift
        for neighbour_y in (cell_y - 1, cell_y, cell_y + 1):
            for neighbour_x in (cell_x - 1, cell_x, cell_x + 1):
                corner = self._cells.get((neighbour_x, neighbour_y))
                if corner is not None and _distance(corner, (x, y)) < self.min_shift:
                    return False
        return True

    def _accept(self, x: int, y: int) -> None:
        self.accepted.append((x, y))
        cell = (x // self.min_shift, y // self.min_shift)
        self._cells[cell] = (x, y)
        if self._counts is not None:
            for neighbour in _neighbour_cells(cell):
                self._update_count(neighbour)

    def _start_counting(self) -> None:
        counts = [
            self._free_in_cell((cell_x, cell_y))
            for cell_y in range(self._grid_rows)
            for cell_x in range(self._grid_columns)
        ]
        self._counts = _FenwickTree(counts)

    def _update_count(self, cell: tuple[int, int]) -> None:
        cell_x, cell_y = cell
        if not (0 <= cell_x < self._grid_columns and 0 <= cell_y < self._grid_rows):
            return
        assert self._counts is not None
        index = cell_y * self._grid_columns + cell_x
        self._counts.set(index, self._free_in_cell(cell))

    def _draw_by_rank(self, rng: np.random.Generator) -> tuple[int, int] | None:
        assert self._counts is not None
        free = self._counts.total()
        if free == 0:
            return None
        rank = uniform_below(rng, free)
        index, rank = self._counts.find(rank)
        cell_y, cell_x = divmod(index, self._grid_columns)
        x, y = self._free_position_in_cell((cell_x, cell_y), rank)
        self._accept(x, y)
        return x, y

    def _free_in_cell(self, cell: tuple[int, int]) -> int:
        if cell in self._cells:
            # Two positions in one D x D cell are less than D apart.
            return 0
        return sum(free_count for _, free_count, _ in self._free_rows(cell))

    def _free_position_in_cell(self, cell: tuple[int, int], rank: int):
        """Return the free position of the given rank, counted row by row."""
        for y, free_count, free_spans in self._free_rows(cell):
            if rank >= free_count:
                rank -= free_count
                continue
            for start, stop in free_spans:
                if rank < stop - start:
                    return start + rank, y
                rank -= stop - start
        raise AssertionError(f"rank beyond the free positions of cell {cell}")

    def _free_rows(self, cell: tuple[int, int]):
        """Yield (row, free count, free column spans) for each row of a cell."""
        shift = self.min_shift
        cell_x, cell_y = cell
        left, right = cell_x * shift, min((cell_x + 1) * shift, self.columns)
        top, bottom = cell_y * shift, min((cell_y + 1) * shift, self.rows)
        nearby = [
            self._cells[neighbour]
            for neighbour in _neighbour_cells(cell)
            if neighbour in self._cells
        ]
        for y in range(top, bottom):
            # Each corner blocks the columns less than D from its own, on the
            # rows less than D from its own.
            blocked = sorted(
                (corner_x - shift + 1, corner_x + shift)
                for corner_x, corner_y in nearby
                if abs(corner_y - y) < shift
            )
            spans = _subtract_spans(left, right, blocked)
            yield y, sum(stop - start for start, stop in spans), spans


def _distance(a: tuple[int, int], b: tuple[int, int]) -> int:
    return max(abs(a[0] - b[0]), abs(a[1] - b[1]))


def _neighbour_cells(cell: tuple[int, int]) -> list[tuple[int, int]]:
    cell_x, cell_y = cell
    return [(cell_x + dx, cell_y + dy) for dy in (-1, 0, 1) for dx in (-1, 0, 1)]


def _subtract_spans(
    start: int, stop: int, blocked: list[tuple[int, int]]
) -> list[tuple[int, int]]:
    """Return the parts of [start, stop) outside the sorted half-open spans."""
    free = []
    cursor = start
    for blocked_start, blocked_stop in blocked:
        if blocked_start > cursor:
            free.append((cursor, min(blocked_start, stop)))
        cursor = max(cursor, blocked_stop)
        if cursor >= stop:
            break
    if cursor < stop:
        free.append((cursor, stop))
    return [(a, b) for a, b in free if a < b]


class _FenwickTree:
    """Prefix sums over non-negative counts, with O(log n) update and search."""

    def __init__(self, counts: list[int]):
        self._size = len(counts)
        self._values = list(counts)
        self._tree = [0] * (self._size + 1)
        for index, count in enumerate(counts):
            self._add(index, count)

    def total(self) -> int:
        return self._prefix(self._size)

    def set(self, index: int, count: int) -> None:
        self._add(index, count - self._values[index])
        self._values[index] = count

    def find(self, rank: int) -> tuple[int, int]:
        """Return the index whose span contains `rank`, and the rank within it."""
        position = 0
        step = 1 << self._size.bit_length()
        while step:
            following = position + step
            if following <= self._size and self._tree[following] <= rank:
                position = following
                rank -= self._tree[following]
            step >>= 1
        return position, rank

    def _add(self, index: int, delta: int) -> None:
        index += 1
        while index <= self._size:
            self._tree[index] += delta
            index += index & -index

    def _prefix(self, count: int) -> int:
        total = 0
        while count > 0:
            total += self._tree[count]
            count -= count & -count
        return total
