import logging
import os
import sys

os.environ.setdefault("TF_CPP_MIN_LOG_LEVEL", "2")  # TensorFlow's C++ info/warnings drown the CLI's own lines
# Its Python "retracing" warning fires by design here: each member, at each input size, traces its
# own predict function once, and every JSON line the CLI prints would follow a paragraph of it.
logging.getLogger("tensorflow").setLevel(logging.ERROR)

from autobot.runtime import prefer_onednn  # noqa: E402

prefer_onednn()  # every command works on batches: oneDNN kernels where TensorFlow leaves them off (autobot.runtime)

from autobot.cli import main  # noqa: E402

sys.exit(main())
