"""What users hand in, made safe to log: one ``run.log`` call as a flat row (``metrics``) and a
config (dict, dataclass, Namespace) as a JSON-safe dict (``config``).

Pure functions with no wandb: the run, the reader and the renderers all use them, so they sit
below each of those layers.
"""
