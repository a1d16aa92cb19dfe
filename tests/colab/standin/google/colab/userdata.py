"""``google.colab.userdata`` as a notebook without the secret (or without access to it) sees it.

Colab raises ``SecretNotFoundError`` for a secret that is not set and
``NotebookAccessError`` when the user has not granted this notebook access. The stand-in
reads ``COLAB_STANDIN_SECRETS`` (a JSON object) so a test can set a secret.
"""

from __future__ import annotations

import json
import os


class SecretNotFoundError(Exception):
    """The secret is not set in the user's Colab secrets."""


class NotebookAccessError(Exception):
    """The user has not granted this notebook access to the secret."""


def get(key: str) -> str:
    secrets = json.loads(os.environ.get("COLAB_STANDIN_SECRETS", "{}"))
    if key not in secrets:
        raise SecretNotFoundError(key)
    return str(secrets[key])
