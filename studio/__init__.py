"""StreamStudio: one prompt to a long, multi-scene, consistent video.

The pipeline has five stages, each a function of the previous artifact:
Plan (studio.plan.stage) -> Cast (studio.references.stage) -> Shoot (studio.generate)
-> Refine (studio.refine.stage) -> Export (studio.export.stage). Nothing heavy happens at import.
"""

__version__ = "0.1.0"


def _drop_torchvision_advice() -> None:
    """transformers advises installing torchvision when it falls back to its PIL image processors.

    Here that advice is wrong: there is no CPU build of torchvision for our torch, and the CUDA one
    breaks `import transformers`. The PIL processors are what we want, so the advice is dropped.
    A logging filter is all this does: no import of transformers, nothing heavy.
    """
    import logging

    class _Filter(logging.Filter):
        def filter(self, record: logging.LogRecord) -> bool:
            return "requires torchvision (not installed)" not in record.getMessage()

    logging.getLogger("transformers.utils.import_utils").addFilter(_Filter())


_drop_torchvision_advice()
