import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info/warnings drown the CLI's own lines

from autobot.cli import main  # noqa: E402

sys.exit(main())
