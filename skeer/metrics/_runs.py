"""Sorted runs of one class's scores, in memory and spilled to disk (private)."""

import numpy as np


class _ClassScores:
    """The scores of one class: sorted runs on disk and arrays in memory."""

    def __init__(self):
        self.disk = []  # sorted, read-only np.memmap runs
        self.memory = []  # read-only arrays, sorted only if memory_sorted
        self.memory_sorted = True
        self.n = 0

    @property
    def memory_bytes(self):
        return sum(a.nbytes for a in self.memory)

    @property
    def disk_bytes(self):
        return sum(a.nbytes for a in self.disk)

    def add(self, values, *, is_sorted=False):
        if len(values):
            values.flags.writeable = False  # may be shared by merged states
            self.memory.append(values)
            self.memory_sorted = (
                self.memory_sorted and is_sorted and (len(self.memory) == 1)
            )
            self.n += len(values)

    def consolidate(self):
        """Make the in-memory part one sorted run (a new array: never in place)."""
        if self.memory and not (self.memory_sorted and len(self.memory) == 1):
            merged = np.concatenate(self.memory)
            merged.sort()
            merged.flags.writeable = False
            self.memory = [merged]
        self.memory_sorted = True

    def spill(self, path):
        """Write the in-memory part as one sorted run to ``path``."""
        if not self.memory:
            return
        self.consolidate()
        run = self.memory[0]
        run.tofile(path)
        self.disk.append(np.memmap(path, dtype=run.dtype, mode="r", shape=run.shape))
        self.memory = []

    def runs(self):
        self.consolidate()
        return [*self.disk, *self.memory]
