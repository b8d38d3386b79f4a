"""Progress of long batch jobs: a CLI command passes a progress bar factory, the worker passes none."""
from contextlib import nullcontext


def shown(progress, items):
    """`items` under the progress bar `progress(items)` (e.g. click.progressbar) when given, else as they
    are; use as `with shown(progress, ids) as batch:`."""
    return progress(items) if progress else nullcontext(items)
