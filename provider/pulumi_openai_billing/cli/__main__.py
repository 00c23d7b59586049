"""``python -m pulumi_openai_billing.cli``: the ``openai-billing`` command without its script on PATH."""

import sys

from . import main

sys.exit(main())
