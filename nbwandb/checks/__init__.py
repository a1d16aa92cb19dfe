"""Checks with fixes: ``%wandb_doctor``'s table (``doctor``) and loaded packages older than the
installed ones (``loaded_versions``)."""
