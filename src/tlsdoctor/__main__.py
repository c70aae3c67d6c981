"""``python -m tlsdoctor``: the same as the ``tlsdoctor`` command."""

from tlsdoctor.cli import main

raise SystemExit(main())
