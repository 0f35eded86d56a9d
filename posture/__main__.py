"""``python -m posture``."""

import sys

from posture._cli.main import main

sys.exit(main())
