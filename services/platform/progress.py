"""Progress of long batch jobs: a CLI command passes a progress bar factory, the worker passes none."""
from contextlib import nullcontext


def with_progress_bar(progress, items):
    """`items` under the progress bar `progress(items)` (e.g. click.progressbar) when given, else as they
    are; as in `with with_progress_bar(progress, ids) as batch:`."""
    return progress(items) if progress else nullcontext(items)
