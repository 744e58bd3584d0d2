import sys

from autobot.cli import main

sys.exit(main())
