"""Starting a run: ``init()`` (``init``) and which run ``init(resume=...)`` continues
(``resume``). They sit above ``run`` and ``local`` because resuming reads earlier runs back."""
