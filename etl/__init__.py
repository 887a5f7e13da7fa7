"""trialdash's ETL: ``python -m etl validate|load|runs``."""
import os

# Before Polars is imported (its allocator, jemalloc, reads this once, at Polars' import): freed
# memory goes back to the system at once after its short "dirty" delay, instead of lingering as
# "muzzy" pages for another second (Polars' own setting, muzzy_decay_ms:1000). At 10,000 subjects
# a load's memory freed after one stage was still held when the next one peaked: -250 MB of
# peak, no slower (issue 15, measured 2026-12-04; dirty_decay_ms:0 saved more but cost 3 s).
# A value the user set is kept; a process that imported Polars before this module is unchanged.
os.environ.setdefault("_RJEM_MALLOC_CONF", "muzzy_decay_ms:0")

# The project's version. A load reuses a recorded validation only under the same version (and the
# same validator code, suites and Great Expectations: etl.validate.fingerprint).
__version__ = "1.15.0"
