"""trialdash's ETL: ``python -m etl validate|load|runs``."""

# The project's version. A load reuses a recorded validation only under the same version (and the
# same validator code, suites and Great Expectations: etl.validate.fingerprint).
__version__ = "1.15.0"
