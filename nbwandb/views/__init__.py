"""Views over local runs: ``nbwandb.show`` (``dashboard``), its charts and HTML pieces, and
the HTML of image overlays."""
