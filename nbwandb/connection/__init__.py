"""Reaching W&B: choosing online or offline (``modes``), the bounded host probe (``network``),
finding an API key (``credentials``) and ``login()`` (``auth``)."""
