"""``python -m dapr_nb.sandbox``: the same as ``dapr-nb sandbox``."""

import sys

from ..cli import main

sys.exit(main(["sandbox", *sys.argv[1:]]))
